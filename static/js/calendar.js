// The publishing calendar: drop a post on another day or hour slot to reschedule it. The drop submits a
// plain form (the time is local: the server reads it in the user's time zone), so the page reloads with
// the post in its new slot or with the refusal as a message. Without JS, the post page has Reschedule.
(() => {
  const form = document.getElementById("calendar-move");
  if (!form) return;
  let dragged = null;
  document.addEventListener("dragstart", (event) => {
    dragged = event.target.closest?.("[data-move-url]");
    if (!dragged) return;
    event.dataTransfer.effectAllowed = "move";
    event.dataTransfer.setData("text/plain", dragged.dataset.post);
  });
  document.addEventListener("dragover", (event) => {
    if (dragged && event.target.closest?.("td[data-date]")) event.preventDefault();
  });
  document.addEventListener("drop", (event) => {
    const slot = event.target.closest?.("td[data-date]");
    if (!dragged || !slot) return;
    event.preventDefault();
    const [hour, minute] = dragged.dataset.time.split(":");
    form.action = dragged.dataset.moveUrl;
    form.elements.at.value = `${slot.dataset.date}T${slot.dataset.hour || hour}:${minute}`;
    dragged = null;
    form.submit();
  });
})();
