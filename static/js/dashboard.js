// Dashboard charts: drawn from the json_script data of the htmx fragment once it is in the page.
// Every chart has a table with the same figures beside it (inside <details>).
(function () {
  const charts = [];

  function draw(root) {
    const section = root.querySelector ? root.querySelector("[data-dashboard-charts]") : null;
    const holder = section || (root.matches && root.matches("[data-dashboard-charts]") ? root : null);
    if (!holder || !window.Chart) return;
    const source = document.getElementById("dashboard-chart-data");
    if (!source) return;
    const data = JSON.parse(source.textContent);
    while (charts.length) charts.pop().destroy();
    const common = { responsive: true, aspectRatio: 1.6, scales: { y: { beginAtZero: true } } };
    const configs = {
      earned: {
        type: "bar",
        data: { labels: data.labels, datasets: [{ label: "Earned", data: data.earned, backgroundColor: "#198754" }] },
        options: { ...common, plugins: { legend: { display: false } } },
      },
      team: {
        type: "bar",
        data: {
          labels: data.labels,
          datasets: [
            { type: "line", label: "Team size", data: data.team_size, borderColor: "#0d6efd", yAxisID: "size" },
            { label: "New recruits", data: data.new_recruits, backgroundColor: "#6ea8fe", yAxisID: "y" },
          ],
        },
        options: {
          ...common,
          scales: { y: { beginAtZero: true, position: "left" }, size: { beginAtZero: true, position: "right", grid: { drawOnChartArea: false } } },
        },
      },
      volume: {
        type: "line",
        data: {
          labels: data.labels,
          datasets: [
            { label: "PV", data: data.pv, borderColor: "#fd7e14", spanGaps: true },
            { label: "GV", data: data.gv, borderColor: "#6f42c1", spanGaps: true },
          ],
        },
        options: common,
      },
    };
    holder.querySelectorAll("canvas[data-chart]").forEach(function (canvas) {
      const config = configs[canvas.dataset.chart];
      if (!config) return;
      charts.push(new Chart(canvas, config));
    });
  }

  document.addEventListener("htmx:load", function (event) { draw(event.detail.elt); });
  document.addEventListener("DOMContentLoaded", function () { draw(document); });
})();

// Staff overview: payout as a percent of CV per closed month (the table below has the figures).
(function () {
  document.addEventListener("DOMContentLoaded", function () {
    const canvas = document.getElementById("payout-chart");
    const source = document.getElementById("payout-chart-data");
    if (!canvas || !source || !window.Chart) return;
    const data = JSON.parse(source.textContent);
    new Chart(canvas, {
      type: "line",
      data: { labels: data.labels, datasets: [{ label: "% of CV", data: data.percent, borderColor: "#0d6efd", spanGaps: true }] },
      options: { plugins: { legend: { display: false } }, scales: { y: { beginAtZero: true, ticks: { callback: (v) => v + " %" } } } },
    });
  });
})();
