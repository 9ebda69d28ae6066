// Change request lines: "Add a line" clones the blank row here instead of a round trip
// to the server, and a ticked "Remove" hides the row (the server drops ticked rows).
// Without this file both still work by posting the form back.
(() => {
  const container = document.querySelector("[data-lines]");
  const template = document.getElementById("line-template");
  const addButton = document.querySelector("[data-add-line]");
  if (!container || !template || !addButton) return;

  const nextIndex = () => {
    let max = -1;
    container.querySelectorAll("[name^='lines-']").forEach((input) => {
      const match = input.name.match(/^lines-(\d+)-/);
      if (match) max = Math.max(max, Number(match[1]));
    });
    return max + 1;
  };

  addButton.addEventListener("click", (event) => {
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
    row.querySelector("select, input")?.focus();
  });

  container.addEventListener("change", (event) => {
    if (event.target.matches("input[type=checkbox][name$='-delete']")) {
      event.target.closest("[data-line]")?.classList.toggle("removed", event.target.checked);
    }
  });
})();
