// Bar charts drawn from json_script data; every chart has a table with the same figures.
(function () {
  const canvas = document.getElementById("joins-chart");
  if (!canvas || !window.Chart) return;
  const labels = JSON.parse(document.getElementById("joins-labels").textContent);
  const values = JSON.parse(document.getElementById("joins-values").textContent);
  new Chart(canvas, {
    type: "bar",
    data: { labels, datasets: [{ label: "Joined", data: values, backgroundColor: "#0d6efd" }] },
    options: { plugins: { legend: { display: false } }, scales: { y: { beginAtZero: true } } },
  });
})();
