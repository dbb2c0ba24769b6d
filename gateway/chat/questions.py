"""Is a chat comment a question? Simple, explainable rules across languages (docs/console.md).

Signals, in order; the first that fires gives the reason:

1. ``punctuation``: a question mark in any script (``? ？ ¿ ؟``), URLs removed first.
2. ``ending``: a sentence-final question particle in Korean, Japanese or Chinese
   (``까``, ``나요``, ``ですか``, ``吗`` ...), where chat often drops the mark.
3. ``interrogative``: an interrogative word (``how much``, ``quanto``, ``cuánto``, ``얼마``,
   ``いくら``, ``多少`` ...) or a yes/no opener (``do you``, ``tem``, ``hay``, ``avez-vous``) at
   the start of a clause, in the comment's language. Korean, Japanese and Chinese do not put
   spaces between words, so there an interrogative anywhere counts (minus a few words that
   merely contain one, like ``いつも`` "always").
4. ``english``: rules 1 and 3 applied to the comment's English translation, when one exists
   (the host's language): the model often renders a question's structure, or adds the mark.

Pure and synchronous (microseconds per comment): the pipeline calls it on the event loop.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

_QUESTION_MARKS = re.compile(r"[?？¿؟⁇⁈⁉]")
_URL = re.compile(r"(?:https?://|www\.)\S+", re.IGNORECASE)
# A clause ends at sentence punctuation or a line break; commas too, since chat writes
# "oi gente, quanto custa" as one line.
_CLAUSE_SPLIT = re.compile(r"[.,;:!\n…。！，、]+")
_WORD = re.compile(r"[^\W\d_]+(?:['’-][^\W\d_]+)*")
# Trailing decoration ignored when looking for a final particle: emoji, spaces, tildes,
# laughter and punctuation that is not a question mark.
_TRAILING = re.compile(r"[\s~～。．.!！…ㅋㅎㅠㅜ^]+$|[\U0001F000-\U0001FAFF\u2600-\u27BF\uFE0F]+$")

def _words(text: str) -> frozenset[str]:
    """A set of whitespace-separated words (lexicons read better as text)."""
    return frozenset(text.split())


# Words that may open a clause before the question proper ("oi gente, ...", "so how ...").
_LEADERS = _words("""
hi hello hey guys so and but ok okay also then please pls plz
oi olá ola gente e mas então entao ah aí ai moça moco moço amiga amigo pessoal
hola chicos y pero entonces bueno oye amiga amigo
salut bonjour et mais alors donc
hallo hi leute und aber also dann
""")

# Clause-initial words that make a question, per language (lowercase, accents kept and also
# matched without them for pt/es/fr/de, where chat often drops them).
_OPENERS: dict[str, frozenset[str]] = {
    "en": _words("""
what where when why who whom whose which how
is are am was were do does did can could will would should shall may might have has had
isn't aren't doesn't don't didn't can't won't wouldn't shouldn't haven't hasn't
any anyone anybody
"""),
    "pt": _words("""
qual quais quanto quanta quantos quantas quando onde aonde como quem que cadê cade porque
porquê será sera tem têm vocês voces você voce pode podem posso serve enviam entregam
aceita aceitam existe alguém alguem
"""),
    "es": _words("""
qué que cuál cual cuáles cuales cuánto cuanto cuánta cuanta cuántos cuantos cuántas cuantas
cuándo cuando dónde donde adónde cómo como quién quien quiénes quienes hay tienen tiene
puedo pueden puede se hacen envían envian aceptan sirve viene alguien todavía
"""),
    "fr": _words("""
quoi quel quelle quels quelles combien quand où ou comment pourquoi qui est-ce est-ce-que
avez-vous as-tu peut-on puis-je y-a-t-il vous
"""),
    "de": _words("""
was wo wann wie warum wer wen wem wessen welche welcher welches welchen welchem wieviel
woher wohin weshalb wieso ist sind hast habt haben gibt gibt's kann kannst können koennen
könnt wird würde passt kommt kostet
"""),
}

# Openers that are questions only when the next word agrees, per language: "what a deal" and
# "how cute" are exclamations, "que lindo" too; pronouns and auxiliaries open a yes/no
# question only before a subject or a verb of asking ("is it", "vocês enviam").
_EXCLAIMED_AFTER: dict[str, dict[str, frozenset[str]]] = {
    "en": {"what": _words("a an"),
           "how": _words("cute beautiful nice lovely pretty cool amazing great gorgeous sweet "
                         "fun awesome good")},
    "pt": {"como": _words("é e está esta eu que você voce amo adoro lindo linda"),
           "que": _words("lindo linda lindos lindas bonito bonita bom boa legal demais coisa "
                         "delícia delicia maravilha perfeito perfeita chique pena saudade "
                         "fofo fofa top massa incrível incrivel show")},
    "es": {"que": _words("lindo linda bonito bonita bueno buena lástima lastima rico rica "
                         "padre genial bonitos bonitas hermoso hermosa"),
           "qué": _words("lindo linda bonito bonita bueno buena lástima rico rica padre "
                         "genial hermoso hermosa"),
           "como": _words("me te le nos les lo la")},
    "de": {"was": _words("für"), "wie": _words("schön toll süß cool geil")},
}
_SUBJECTS_EN = "i you u we it this that they he she there the these those your its anyone"
_ASKING_NEXT: dict[str, dict[str, frozenset[str]]] = {
    "en": {w: _words(_SUBJECTS_EN) for w in
           _words("is are was were do does did can could will would should have has may")},
    "pt": {**{w: _words("enviam entregam têm tem aceitam vendem fazem mandam vão vao podem")
              for w in ("vocês", "voces")},
           **{w: _words("envia entrega tem aceita vende faz manda vai pode")
              for w in ("você", "voce")},
           "tem": _words("frete desconto tamanho cor cupom como em outra outro mais promoção "
                         "promocao garantia estoque entrega envio pra para p m g gg link "
                         "algum alguma vídeo video previsão previsao")},
    "es": {"hay": _words("envío envio descuento talla tallas color colores stock cupón cupon "
                         "garantía garantia más mas algún algun alguna otro otra"),
           "se": _words("puede pueden envía envia hace")},
    "fr": {"vous": _words("avez livrez envoyez faites acceptez vendez")},
}


# Korean, Japanese, Chinese: interrogatives found anywhere, minus words that contain one.
_CJK_INTERROGATIVES: dict[str, tuple[str, ...]] = {
    "ko": ("얼마", "언제", "어디", "어떻게", "어떤", "어느", "왜", "누구", "누가", "무엇", "뭐",
           "몇", "무슨", "있나요", "되나요", "인가요", "한가요", "건가요"),
    "ja": ("いくら", "何", "なに", "なん", "いつ", "どこ", "どう", "どれ", "どの", "どんな",
           "誰", "だれ", "なぜ", "どうして", "ありますか"),
    "zh": ("吗", "嗎", "什么", "什麼", "多少", "怎么", "怎麼", "为什么", "為什麼", "哪", "谁",
           "誰", "几", "幾", "有没有", "有沒有", "是不是", "能不能", "可不可以", "会不会"),
}
_CJK_NOT_INTERROGATIVE: dict[str, tuple[str, ...]] = {
    "ko": ("뭐든", "언제나", "어디든", "누구나", "왜냐하면", "몇몇", "무엇보다", "어떻게든"),
    "ja": ("いつも", "何も", "なにも", "どうも", "どこでも", "誰も", "だれも", "なんでも", "何でも",
           "いつでも", "どれも", "どうぞ", "何度も", "なんか", "何か", "なにか", "どうしても",
           "何より", "なんて"),
    "zh": ("几乎", "幾乎", "哪里哪里", "谁都", "什么都", "怎么都", "多少钱都"),
}
# Sentence-final particles that ask (checked after trailing emoji and punctuation are cut).
_FINAL_PARTICLES: dict[str, tuple[str, ...]] = {
    "ko": ("까", "까요", "나요", "니", "냐", "는지", "는지요", "죠", "지요", "을래", "ㄹ래",
           "할래", "가요"),
    "ja": ("か", "かな", "かしら", "の"),
    "zh": ("吗", "嗎", "呢", "么", "麼"),
}


@dataclass(frozen=True)
class QuestionVerdict:
    """Whether a comment is a question, and which rule said so (``None`` when none did)."""

    question: bool
    reason: str | None  # "punctuation" | "ending" | "interrogative" | "english" | None


NOT_A_QUESTION = QuestionVerdict(False, None)


def _fold(word: str) -> str:
    """Lowercase without accents: chat writes "cuanto" for "cuánto"."""
    decomposed = unicodedata.normalize("NFD", word.lower())
    return "".join(c for c in decomposed if unicodedata.category(c) != "Mn")


def has_question_mark(text: str) -> bool:
    """A question mark in any script, outside URLs."""
    return bool(_QUESTION_MARKS.search(_URL.sub(" ", text)))


class QuestionDetector:
    """Rules per language (``en pt es fr de ko ja zh``); other languages get the question mark
    and the English translation's rules only."""

    languages = ("en", "pt", "es", "fr", "de", "ko", "ja", "zh")

    def __init__(self) -> None:
        self._openers = {lang: words | {_fold(w) for w in words}
                         for lang, words in _OPENERS.items()}

    def detect(self, text: str, lang: str, english: str | None = None) -> QuestionVerdict:
        """Judge ``text`` written in ``lang`` (ISO 639-1 or ``und``); ``english`` is its
        English translation when one exists."""
        if has_question_mark(text):
            return QuestionVerdict(True, "punctuation")
        cleaned = _URL.sub(" ", text)
        if lang in _FINAL_PARTICLES and self._final_particle(cleaned, lang):
            return QuestionVerdict(True, "ending")
        if self._interrogative(cleaned, lang):
            return QuestionVerdict(True, "interrogative")
        if english and lang != "en" and (has_question_mark(english)
                                         or self._interrogative(english, "en")):
            return QuestionVerdict(True, "english")
        return NOT_A_QUESTION

    def is_question(self, text: str, lang: str, english: str | None = None) -> bool:
        """``detect(...).question``."""
        return self.detect(text, lang, english).question

    @staticmethod
    def _final_particle(text: str, lang: str) -> bool:
        for clause in re.split(r"[\n。！!]+", text):
            end = clause.strip()
            while True:  # cut trailing emoji and decoration, repeatedly ("요~~ 😊 ㅎㅎ")
                cut = _TRAILING.sub("", end)
                if cut == end:
                    break
                end = cut
            if not end:
                continue
            if lang == "ko" and (end.endswith("가요") and len(end.split()[-1]) <= 2):
                continue  # "가요" alone is "I'm going"
            if any(end.endswith(p) for p in _FINAL_PARTICLES[lang]):
                return True
        return False

    def _interrogative(self, text: str, lang: str) -> bool:
        if lang in _CJK_INTERROGATIVES:
            for word in _CJK_NOT_INTERROGATIVE[lang]:
                text = text.replace(word, " ")
            return any(w in text for w in _CJK_INTERROGATIVES[lang])
        openers = self._openers.get(lang)
        if openers is None:
            return False
        for clause in _CLAUSE_SPLIT.split(text):
            words = [w.lower() for w in _WORD.findall(clause) if not w.startswith("@")]
            while words and words[0] in _LEADERS:
                words.pop(0)
            if words and self._opens_question(words, openers, lang):
                return True
        return False

    @staticmethod
    def _opens_question(words: list[str], openers: frozenset[str], lang: str) -> bool:
        first = words[0]
        if first.endswith(("'s", "’s")):  # what's, how's
            first = first[:-2]
        if first not in openers and _fold(first) not in openers:
            return False
        following = words[1] if len(words) > 1 else None
        needs = _ASKING_NEXT.get(lang, {}).get(first)
        if needs is not None:
            return following is not None and (following in needs or _fold(following) in needs)
        exclaimed = _EXCLAIMED_AFTER.get(lang, {}).get(first)
        return not (exclaimed and following is not None and following in exclaimed)
