// Small progressive enhancements; every page works without them.
document.addEventListener("change", (event) => {
  const el = event.target;
  if (el.matches("select[data-autosubmit]")) el.form.requestSubmit();
});
document.addEventListener("submit", (event) => {
  const form = event.target;
  const question = form.dataset.confirm;
  if (question && !window.confirm(question)) event.preventDefault();
});
// The composer's account groups: a group's button ticks its accounts.
document.addEventListener("click", (event) => {
  const button = event.target.closest("button[data-tick]");
  if (!button) return;
  for (const id of button.dataset.tick.split(" ").filter(Boolean)) {
    const box = button.form.querySelector(`input[name="accounts"][value="${id}"]`);
    if (box) box.checked = true;
  }
  button.form.dispatchEvent(new Event("change", { bubbles: true }));
});
