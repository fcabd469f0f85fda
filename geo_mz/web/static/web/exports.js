// Export page: queue an export job through /api/exports/ and poll the user's jobs until they finish.
(function () {
  "use strict";
  const csrf = () => (document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/) || [])[1] || "";
  const layers = JSON.parse(document.getElementById("export-layers").textContent);
  const form = document.getElementById("export-form");
  const errorBox = document.getElementById("export-error");
  const body = document.querySelector("#export-jobs tbody");
  const encoding = document.getElementById("export-encoding");
  const format = document.getElementById("export-format");
  let timer = null;

  const syncEncoding = () => {
    encoding.disabled = format.value !== "shp";
    if (encoding.disabled) encoding.value = "UTF-8";
  };
  format.addEventListener("change", syncEncoding);
  syncEncoding();

  const hasDivision = (id) => {
    const layer = layers.find((l) => l.id === id);
    return layer ? layer.queryables.map((q) => q[0]).find((n) => n === "division_code") : null;
  };

  const cell = (text) => { const td = document.createElement("td"); td.textContent = text; return td; };

  function render(jobs) {
    body.replaceChildren();
    for (const job of jobs) {
      const tr = document.createElement("tr");
      tr.dataset.status = job.status;
      tr.appendChild(cell(job.id));
      tr.appendChild(cell(job.params.collection));
      tr.appendChild(cell(job.params.format + (job.params.format === "shp" ? " " + job.params.encoding : "")));
      tr.appendChild(cell(job.status_display + (job.error ? "：" + job.error : "")));
      const pct = job.percent === null ? "" : job.percent + "%";
      tr.appendChild(cell(job.total === null ? String(job.progress) : `${job.progress.toLocaleString()} / ${job.total.toLocaleString()} ${pct}`));
      const td = document.createElement("td");
      if (job.download) {
        const a = document.createElement("a");
        a.href = job.download;
        a.textContent = job.file_name;
        a.className = "export-download";
        td.appendChild(a);
      }
      if (job.retry) {
        const retry = document.createElement("button");
        retry.type = "button";
        retry.className = "export-retry";
        retry.textContent = "重试";
        retry.addEventListener("click", () => {
          retry.disabled = true;
          fetch(job.retry, { method: "POST", headers: { "X-CSRFToken": csrf(), Accept: "application/json" } })
            .then((r) => r.json().then((b) => { if (!r.ok) throw new Error(b.detail || r.status); }))
            .then(refresh)
            .catch((e) => { errorBox.hidden = false; errorBox.textContent = String(e.message || e); retry.disabled = false; });
        });
        td.appendChild(retry);
      }
      tr.appendChild(td);
      body.appendChild(tr);
    }
    const busy = jobs.some((j) => j.status === "queued" || j.status === "running");
    clearTimeout(timer);
    if (busy) timer = setTimeout(refresh, 1000);
  }

  function refresh() {
    fetch("/api/exports/", { headers: { Accept: "application/json" } })
      .then((r) => r.json())
      .then(render)
      .catch((e) => { errorBox.hidden = false; errorBox.textContent = String(e); });
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    errorBox.hidden = true;
    const data = new FormData(form);
    const filters = {};
    const division = (data.get("division_code") || "").trim();
    if (division) {
      if (!hasDivision(data.get("collection"))) {
        errorBox.hidden = false;
        errorBox.textContent = "该图层不能按区划筛选 / this layer cannot be filtered by division";
        return;
      }
      filters.division_code = division;
    }
    fetch("/api/exports/", {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf(), Accept: "application/json" },
      body: JSON.stringify({
        collection: data.get("collection"),
        format: data.get("format"),
        encoding: encoding.value,
        filters,
      }),
    })
      .then((r) => r.json().then((b) => { if (!r.ok) throw new Error(Object.values(b).flat().join("；") || r.status); return b; }))
      .then(refresh)
      .catch((e) => { errorBox.hidden = false; errorBox.textContent = e.message; });
  });

  refresh();
})();
