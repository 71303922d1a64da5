// The referral link's copy button (<button data-copy-target="#share-link">) also records a
// "shared" event for the first-steps checklist. No inline script: the URL and CSRF token are
// read from the element rendered by the `share_tracking` template tag.
document.addEventListener("click", (event) => {
  const button = event.target.closest('[data-copy-target="#share-link"]');
  if (!button) return;
  const tracker = document.querySelector("[data-share-recorded-url]");
  if (!tracker || tracker.dataset.sent) return;
  tracker.dataset.sent = "1";
  fetch(tracker.dataset.shareRecordedUrl, {
    method: "POST",
    credentials: "same-origin",
    headers: { "X-CSRFToken": tracker.dataset.csrfToken },
  });
});
