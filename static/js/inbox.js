// The inbox: select rows for a bulk action, keyboard shortcuts, and a selection that survives the live refresh
// (the table is replaced when something changed). Every action also works without this script, one by one.
(() => {
  const selected = new Set();
  let cursor = -1;
  const rows = () => Array.from(document.querySelectorAll("#inbox-rows tr[data-id]"));
  const bulk = document.getElementById("bulk");

  function sync() {
    for (const box of document.querySelectorAll("#inbox-rows input.select")) box.checked = selected.has(box.value);
    if (!bulk) return;
    bulk.hidden = selected.size === 0;
    document.getElementById("bulk-ids").value = Array.from(selected).join(",");
    document.getElementById("bulk-count").textContent = `${selected.size} ✓`;
  }
  function focusRow(index) {
    const all = rows();
    if (!all.length) return;
    cursor = Math.max(0, Math.min(index, all.length - 1));
    all.forEach((row, i) => row.classList.toggle("cursor", i === cursor));
    all[cursor].querySelector("a")?.focus();
  }
  document.addEventListener("change", (event) => {
    const box = event.target;
    if (box.matches?.("#inbox-rows input.select")) {
      if (box.checked) selected.add(box.value); else selected.delete(box.value);
      sync();
    } else if (box.id === "select-all") {
      for (const row of document.querySelectorAll("#inbox-rows input.select")) {
        if (box.checked) selected.add(row.value); else selected.delete(row.value);
      }
      sync();
    }
  });
  document.body.addEventListener("htmx:afterSwap", (event) => {
    if (event.detail.target.id === "inbox-live" || event.target.id === "inbox-live") {
      sync();
      if (cursor >= 0) rows()[cursor]?.classList.add("cursor");
    }
  });
  document.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    if (event.target.closest?.("input, textarea, select, [contenteditable]")) return;
    const all = rows();
    if (event.key === "j") focusRow(cursor + 1);
    else if (event.key === "k") focusRow(cursor - 1);
    else if ((event.key === "o" || event.key === "Enter") && all[cursor]) window.location = all[cursor].dataset.href;
    else if (event.key === "x" && all[cursor]) {
      const box = all[cursor].querySelector("input.select");
      box.checked = !box.checked;
      box.dispatchEvent(new Event("change", { bubbles: true }));
    } else if (event.key === "e" && bulk && selected.size) {
      bulk.elements.action.value = "resolve";
      bulk.requestSubmit();
    } else return;
    event.preventDefault();
  });
  sync();
})();
