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
// The composer's images: removing one drops its hidden input, and the previews follow.
document.addEventListener("click", (event) => {
  const button = event.target.closest("button[data-remove-media]");
  if (!button) return;
  const form = button.form;
  button.closest("li").remove();
  form.dispatchEvent(new Event("change", { bubbles: true }));
});
