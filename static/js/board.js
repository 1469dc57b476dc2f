// The team lead's board: drop a conversation's card on another agent's lane to reassign it. The drop submits a
// plain form with the assignee the card showed ("expected"), so a change made meanwhile by someone else is
// refused with who made it, not overwritten. Without JS, each conversation's page has Assign.
(() => {
  const form = document.getElementById("board-move");
  if (!form) return;
  let dragged = null;
  document.addEventListener("dragstart", (event) => {
    dragged = event.target.closest?.("[data-assign-url]");
    if (dragged) event.dataTransfer.setData("text/plain", dragged.dataset.assignUrl);
  });
  document.addEventListener("dragover", (event) => {
    if (dragged && event.target.closest?.(".lane")) event.preventDefault();
  });
  document.addEventListener("drop", (event) => {
    const lane = event.target.closest?.(".lane");
    if (!dragged || !lane) return;
    event.preventDefault();
    if (lane.dataset.assignee === dragged.dataset.expected) return;
    form.action = dragged.dataset.assignUrl;
    form.elements.assignee.value = lane.dataset.assignee;
    form.elements.expected.value = dragged.dataset.expected;
    dragged = null;
    form.submit();
  });
})();
