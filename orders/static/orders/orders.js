// Order page: show the customer fields that match the chosen buyer.
(() => {
  const form = document.getElementById("order-form");
  if (!form) return;
  const update = () => {
    const buyer = (form.querySelector("input[name=buyer]:checked") || {}).value || "self";
    form.querySelectorAll(".js-buyer-customer").forEach((el) => { el.hidden = buyer !== "customer"; });
    form.querySelectorAll(".js-buyer-new").forEach((el) => { el.hidden = buyer !== "new"; });
  };
  form.addEventListener("change", update);
  update();
})();
// Print buttons: <button data-print>.
document.addEventListener("click", (event) => {
  if (event.target.closest("[data-print]")) window.print();
});
