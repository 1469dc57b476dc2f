"""The demo organization's inbox: queues with routing rules and SLAs, canned replies in English and French, a
VIP, and agents who are available, so conversations arriving from the simulator are routed and assigned."""

from __future__ import annotations

from accounts.models import Membership, Team

from . import services
from .models import AssignmentMode, CannedReply, Priority, Queue
from .services import QueueSpec

CANNED = [
    ("Thanks", "en", "Thank you {author_name}, that means a lot to the whole team! {agent_name}"),
    ("Merci", "fr", "Merci beaucoup {author_name}, toute l'équipe est ravie ! {agent_name}"),
    (
        "Order problem",
        "en",
        "Hello {author_name}, we are sorry about this. Could you send us your order number in a private message? "
        "We will sort it out today. {agent_name}",
    ),
    (
        "Problème de commande",
        "fr",
        "Bonjour {author_name}, nous sommes désolés. Pouvez-vous nous envoyer votre numéro de commande en message "
        "privé ? Nous réglons cela aujourd'hui. {agent_name}",
    ),
    ("Looking into it", "en", "Hi {author_name}, we are looking into it and will come back to you shortly."),
    ("On regarde", "fr", "Bonjour {author_name}, nous regardons cela et revenons vers vous très vite."),
]


def seed_demo_inbox(*, lead: Membership, care: Team, france: Team, agents: list[Membership]) -> None:
    """Idempotent: what exists already is left as it is."""
    if not Queue.objects.filter(organization_id=lead.organization_id).exists():
        urgent = services.queue_save(
            actor=lead,
            spec=QueueSpec(
                name="Urgent: angry customers", team=care, position=1, sentiment_below=-0.5, priority=Priority.HIGH,
                assignment_mode=AssignmentMode.LOAD_BALANCED, first_response_minutes=30, resolution_minutes=240,
            ),
        )  # fmt: skip
        services.queue_save(
            actor=lead,
            spec=QueueSpec(
                name="Clients francophones", team=france, position=2, languages=["fr"],
                assignment_mode=AssignmentMode.ROUND_ROBIN, first_response_minutes=60, resolution_minutes=24 * 60,
                escalate_to=urgent,
            ),
        )  # fmt: skip
        services.queue_save(
            actor=lead,
            spec=QueueSpec(
                name="Everything else", team=care, position=3, assignment_mode=AssignmentMode.ROUND_ROBIN,
                first_response_minutes=120, resolution_minutes=48 * 60, escalate_to=urgent,
            ),
        )  # fmt: skip
    for name, language, text in CANNED:
        if not CannedReply.objects.filter(organization_id=lead.organization_id, name=name, language=language).exists():
            services.canned_reply_save(actor=lead, name=name, language=language, text=text)
    services.vip_add(actor=lead, handle="journaliste_lemonde", note="Le Monde, consumer pages")
    for member in agents:
        services.agent_update(actor=lead, membership=member, available=True)
