// Rows of a form (change request and work order lines, plan sections): "Add ..." clones
// the blank row of its [data-rows] container here instead of a round trip to the server,
// and a ticked "Remove" dims the row (the server drops ticked rows). Without this file
// both still work by posting the form back.
(() => {
  document.querySelectorAll("[data-add-row]").forEach((button) => {
    const section = button.dataset.addRow;
    const container = document.querySelector(`[data-rows="${section}"]`);
    const template = document.querySelector(`template[data-row-template="${section}"]`);
    if (!container || !template) return;

    const nextIndex = () => {
      let max = -1;
      container.querySelectorAll(`[name^="${section}-"]`).forEach((input) => {
        const match = input.name.match(/^[a-z]+-(\d+)-/);
        if (match) max = Math.max(max, Number(match[1]));
      });
      return max + 1;
    };

    button.addEventListener("click", (event) => {
      event.preventDefault();
      const index = String(nextIndex());
      const row = template.content.firstElementChild.cloneNode(true);
      row.querySelectorAll("[name], [id], [for]").forEach((element) => {
        for (const attribute of ["name", "id", "for"]) {
          const value = element.getAttribute(attribute);
          if (value) element.setAttribute(attribute, value.replaceAll("__index__", index));
        }
      });
      container.appendChild(row);
      row.querySelector("input, textarea, select")?.focus();
    });

    container.addEventListener("change", (event) => {
      if (event.target.matches("input[type=checkbox][name$='-delete']")) {
        event.target.closest("[data-row]")?.classList.toggle("removed", event.target.checked);
      }
    });
  });
})();
