// A conversation: a canned reply fills the reply box; the presence check-in says "replying" while the box has
// text in it; the reply form learns of messages the live refresh brought in (so "someone replied meanwhile"
// is only said of replies the agent has not seen). Keyboard: r focuses the reply box.
(() => {
  const form = document.getElementById("reply-form");
  const box = form?.elements.text;
  window.smmsReplyState = () => (box && box.value.trim() && document.activeElement === box ? "replying" : "viewing");
  document.addEventListener("change", (event) => {
    const select = event.target.closest?.("select[data-canned]");
    if (!select || !box) return;
    const option = select.selectedOptions[0];
    if (option?.dataset.text) {
      box.value = option.dataset.text;
      box.focus();
      box.dispatchEvent(new Event("input", { bubbles: true }));
    }
  });
  document.body.addEventListener("htmx:afterSwap", () => {
    const thread = document.getElementById("thread");
    if (thread && form?.elements.seen_message && !form.elements.force.value) {
      form.elements.seen_message.value = thread.dataset.lastMessage;
    }
  });
  // Others learn at once that someone started (or stopped) writing, not at the next check-in.
  let writing = false;
  const changed = () => {
    const now = window.smmsReplyState() === "replying";
    if (now !== writing) {
      writing = now;
      document.body.dispatchEvent(new Event("presence-changed"));
    }
  };
  box?.addEventListener("focus", changed);
  box?.addEventListener("blur", changed);
  box?.addEventListener("input", changed);
  // "Answer this one" on a message of theirs: the reply goes to that message rather than their latest.
  const replyTo = document.getElementById("reply-to");
  document.addEventListener("click", (event) => {
    const button = event.target.closest?.("button[data-reply-to]");
    if (button && form) {
      form.elements.in_reply_to.value = button.dataset.replyTo;
      document.getElementById("reply-to-author").textContent = button.dataset.replyAuthor;
      replyTo.hidden = false;
      box.focus();
    } else if (event.target.id === "reply-to-clear" && form) {
      form.elements.in_reply_to.value = "";
      replyTo.hidden = true;
    }
  });
  form?.addEventListener("submit", () => form.querySelector("button[type=submit]")?.setAttribute("disabled", ""));
  document.addEventListener("keydown", (event) => {
    if (event.key !== "r" || event.ctrlKey || event.metaKey || event.altKey) return;
    if (event.target.closest?.("input, textarea, select, [contenteditable]")) return;
    if (box) {
      event.preventDefault();
      box.focus();
    }
  });
})();
