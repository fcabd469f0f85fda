// Address import page: poll a background import job until it ends, then reload to show its report.
(function () {
  "use strict";
  const box = document.getElementById("import-job");
  if (!box || box.dataset.status === "done" || box.dataset.status === "failed") return;
  const bar = document.getElementById("import-job-progress");
  const text = document.getElementById("import-job-text");

  function poll() {
    fetch(box.dataset.jobUrl, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then((r) => r.json())
      .then((job) => {
        if (job.status === "done" || job.status === "failed") {
          window.location.reload();
          return;
        }
        if (job.total) bar.max = job.total;
        bar.value = job.progress;
        const count = job.total ? `${job.progress.toLocaleString()} / ${job.total.toLocaleString()}` : "";
        text.textContent = `${job.status_display} ${count} ${job.message || ""}`;
        setTimeout(poll, 1000);
      })
      .catch(() => setTimeout(poll, 3000));
  }
  setTimeout(poll, 500);
})();
