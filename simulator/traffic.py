"""The traffic generator: mentions, comments, replies and direct messages in English and French, at a chosen
rate, from a population of authors, plus scripted scenarios (a burst of negative French mentions of a
product at a given time). Text is realistic on purpose: emojis, hashtags, URLs, negations, slang, and now
and then hostile markup, because the product must treat all of it as data."""

from __future__ import annotations

import math
import threading
import time
from typing import TYPE_CHECKING, Any

from .world import PLATFORMS, SimPost, SimUser

if TYPE_CHECKING:
    from .app import Simulator

PRODUCTS = ["Lumière X2", "the app", "Lumière Café", "click & collect", "the loyalty card", "Lumière One"]
PRODUITS = ["Lumière X2", "l'appli", "Lumière Café", "le click & collect", "la carte fidélité", "Lumière One"]

TEXT = {
    ("en", "positive"): [
        "Just got my {p} and honestly it's amazing 😍 #happy",
        "Shoutout to the team, {p} works perfectly! 🙌",
        "10/10 would recommend {p}, best purchase this year",
        "Love love love {p} ❤️ thanks for the quick delivery",
        "ngl {p} is lit 🔥 great job",
        "Customer service was super helpful today, thank you! 👏",
        "{p} is a game changer, so good 👍 https://example.com/review",
    ],
    ("en", "negative"): [
        "My {p} stopped working after two days. Terrible 😡 #fail",
        "Still waiting for a refund on {p}... worst service ever",
        "{p} is not good at all, really disappointed 👎",
        "Why is {p} so slow?? This is ridiculous",
        "Three weeks and no answer from support. Never again. #scam",
        "smh {p} crashed again, I can't even log in 😤",
        "Don't buy {p}, it broke on day one https://example.com/pics",
    ],
    ("en", "neutral"): [
        "Does {p} ship to Canada?",
        "What time does the store open on Sunday?",
        "Is {p} available in blue?",
        "Looking at {p} vs the competition, any opinions?",
        "Where can I find the manual for {p}? #help",
        "Ordered {p} yesterday, delivery is planned for Friday",
    ],
    ("fr", "positive"): [
        "Je viens de recevoir {p} et franchement c'est génial 😍 #content",
        "Merci à l'équipe, {p} marche parfaitement ! 🙌",
        "Trop bien {p}, je recommande à 100% 👍",
        "Service client au top aujourd'hui, merci beaucoup 👏",
        "J'adore {p} ❤️ livraison super rapide",
        "{p} c'est une tuerie 🔥 bravo",
        "Super expérience avec {p}, rien à redire https://example.fr/avis",
    ],
    ("fr", "negative"): [
        "{p} ne marche plus après deux jours. Nul 😡 #arnaque",
        "Toujours pas remboursé pour {p}... service client inexistant",
        "{p} n'est pas du tout à la hauteur, très déçu 👎",
        "Pourquoi {p} est aussi lent ?? C'est n'importe quoi",
        "Trois semaines sans réponse du SAV. Plus jamais. #boycott",
        "{p} a encore planté, impossible de me connecter 😤 grave relou",
        "N'achetez pas {p}, cassé dès le premier jour https://example.fr/photos",
    ],
    ("fr", "neutral"): [
        "Est-ce que {p} est livré en Belgique ?",
        "Le magasin est ouvert le dimanche ?",
        "{p} existe en bleu ?",
        "Vous conseillez {p} ou la concurrence ?",
        "Où trouver la notice de {p} ? #aide",
        "Commandé {p} hier, livraison prévue vendredi",
    ],
}
HOSTILE = [
    '<script>alert("pwned")</script> {p}',
    "<img src=x onerror=alert(1)> {p} is great",
    "\u202egnp.exe {p}",
    "{p} " + "a" * 240,
]
FIRST = {
    "en": ["Emma", "Liam", "Olivia", "Noah", "Ava", "James", "Mia", "Lucas", "Sophia", "Jack", "Chloe", "Ryan"],
    "fr": ["Léa", "Hugo", "Chloé", "Louis", "Manon", "Jules", "Camille", "Gabriel", "Inès", "Arthur", "Zoé", "Théo"],
}
LAST = {
    "en": ["Smith", "Johnson", "Brown", "Taylor", "Wilson", "Davies", "Evans", "Walker", "Hall", "Wright"],
    "fr": ["Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand", "Leroy", "Moreau"],
}


class TrafficGenerator:
    def __init__(self, sim: Simulator) -> None:
        self.sim = sim
        self.world = sim.world
        self.rng = self.world.rng
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._status: dict[str, Any] = {"running": False, "created": 0}

    # --- population -----------------------------------------------------------------------------------
    def seed_population(self, per_platform: int = 400) -> None:
        """Authors with a long-tailed follower count; a few are very influential."""
        for platform in PLATFORMS:
            if platform not in self.sim.apis:
                continue
            for i in range(per_platform):
                lang = "fr" if self.rng.random() < 0.5 else "en"
                first, last = self.rng.choice(FIRST[lang]), self.rng.choice(LAST[lang])
                handle = f"{first}{last}{i}".lower().replace("é", "e").replace("è", "e").replace("ï", "i")
                followers = int(math.exp(self.rng.gauss(5.0, 1.8)))
                user = SimUser(
                    platform=platform,
                    id="",
                    handle=handle,
                    display_name=f"{first} {last}",
                    followers=followers,
                    lang=lang,
                )
                user.id = self.sim.apis[platform].person_id(i)
                self.world.add_user(user)

    # --- items ------------------------------------------------------------------------------------------
    def _text(self, lang: str, sentiment: str, product: str | None, hostile_rate: float) -> str:
        products = PRODUITS if lang == "fr" else PRODUCTS
        p = product or self.rng.choice(products)
        if hostile_rate and self.rng.random() < hostile_rate:
            return self.rng.choice(HOSTILE).format(p=p)
        return self.rng.choice(TEXT[(lang, sentiment)]).format(p=p)

    def _pick(self, value: str, choices: list[str]) -> str:
        return self.rng.choice(choices) if value in ("mix", "*", "") else value

    def _brand_post(self, platform: str, brand: SimUser) -> SimPost:
        for post in self.world.iter_posts(platform):
            if post.author_id == brand.id and post.kind == "post" and not post.deleted:
                return post
        return self.world.add_post(
            SimPost(platform=platform, id="", seq=0, author_id=brand.id, text="Bienvenue ! Welcome!",
                    created_at=self.world.now(), kind="post", lang="fr")
        )  # fmt: skip

    def make_item(
        self,
        platform: str,
        *,
        kind: str = "mix",
        lang: str = "mix",
        sentiment: str = "mix",
        product: str | None = None,
        target: str | None = None,
        hostile_rate: float = 0.01,
        malformed_rate: float = 0.0,
        at: float | None = None,
    ) -> SimPost:
        api = self.sim.apis[platform]
        brands = self.world.brand_users(platform)
        if not brands:
            raise ValueError(f"{platform} has no brand account to address")
        brand = next((b for b in brands if target in (b.id, b.handle)), None) if target else self.rng.choice(brands)
        if brand is None:
            raise ValueError(f"no brand account {target!r} on {platform}")
        kind = self._pick(kind, list(api.incoming_kinds))
        if kind not in api.incoming_kinds:
            raise ValueError(f"{platform} has no incoming {kind!r}; it has {api.incoming_kinds}")
        lang = self._pick(lang, ["en", "fr"])
        sentiment = self._pick(sentiment, ["positive", "negative", "neutral", "neutral"])
        people = [u for u in self.world.people(platform) if u.lang == lang] or self.world.people(platform)
        author = self.rng.choice(people)
        text = self._text(lang, sentiment, product, hostile_rate)
        post = SimPost(platform=platform, id="", seq=0, author_id=author.id, text=text,
                       created_at=at or self.world.now(), lang=lang, target_id=brand.id,
                       malformed=bool(malformed_rate) and self.rng.random() < malformed_rate)  # fmt: skip
        post.extra["sentiment"] = sentiment
        if kind == "mention":
            post.text = f"{api.mention_text(brand)} {text}"
            post.mentions = [brand.id]
        elif kind in ("reply", "comment"):
            parent = self._brand_post(platform, brand)
            post.kind = kind
            post.reply_to_id = parent.id
            post.root_id = parent.root_id or parent.id
            if kind == "reply":
                post.text = f"{api.mention_text(brand)} {text}"
                post.mentions = [brand.id]
        elif kind == "dm":
            post.kind = "dm"
        post.likes = int(self.rng.expovariate(0.3))
        return self.world.add_post(post)

    def generate(self, *, platform: str = "*", count: int = 1, **options: Any) -> list[SimPost]:
        if not 0 < int(count) <= 200_000:
            raise ValueError("count must be between 1 and 200000")
        platforms = [p for p in PLATFORMS if p in self.sim.apis] if platform in ("*", "mix") else [platform]
        created = [self.make_item(self.rng.choice(platforms), **options) for _ in range(int(count))]
        self._status["created"] += len(created)
        return created

    # --- background traffic -----------------------------------------------------------------------------
    def start(self, *, rate: float = 5.0, duration: float | None = None, **options: Any) -> None:
        self.stop()
        self._stop.clear()
        self._status.update(running=True, rate=rate, options=options, started=time.time())
        self._thread = threading.Thread(target=self._run, args=(float(rate), duration, options), daemon=True)
        self._thread.start()

    def _run(self, rate: float, duration: float | None, options: dict[str, Any]) -> None:
        started = time.monotonic()
        sent = 0
        while not self._stop.is_set():
            elapsed = time.monotonic() - started
            if duration is not None and elapsed >= duration:
                break
            due = int(elapsed * rate) - sent
            if due > 0:
                self.generate(count=due, **options)
                sent += due
            self._stop.wait(min(0.1, 1 / rate if rate else 0.1))
        self._status["running"] = False

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        self._status["running"] = False

    def status(self) -> dict[str, Any]:
        return dict(self._status)

    # --- scenarios ----------------------------------------------------------------------------------------
    def scenario(self, *, name: str, delay: float = 0, **options: Any) -> dict[str, Any]:
        """Scripted events. ``negative_burst``: ``count`` negative mentions of ``product`` in ``lang`` over
        ``over`` seconds, starting ``delay`` seconds from now."""
        if name != "negative_burst":
            raise ValueError("unknown scenario; known: negative_burst")
        count = int(options.pop("count", 200))
        over = float(options.pop("over", 60))
        platform = options.pop("platform", "*")
        options.setdefault("lang", "fr")
        options.setdefault("kind", "mention")
        options["sentiment"] = "negative"
        options.setdefault("hostile_rate", 0.0)
        starts_at = time.time() + delay

        def run() -> None:
            time.sleep(max(0.0, starts_at - time.time()))
            for i in range(count):
                target_time = starts_at + over * i / max(1, count)
                time.sleep(max(0.0, target_time - time.time()))
                self.generate(platform=platform, count=1, **options)

        threading.Thread(target=run, daemon=True).start()
        return {"scenario": name, "starts_at": starts_at, "count": count, "over": over}
