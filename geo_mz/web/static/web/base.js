/* geo-mz, every page: behaviour that would otherwise be inline handlers (the Content-Security-Policy
   allows no inline script). A <select data-autosubmit> submits its form when it changes. */
(function () {
  "use strict";
  document.addEventListener("change", (event) => {
    const el = event.target;
    if (el instanceof HTMLSelectElement && el.hasAttribute("data-autosubmit") && el.form) el.form.submit();
  });
})();
