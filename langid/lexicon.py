"""Chat vocabulary that lid.176 does not know, and letters that give a language away.

fastText's lid.176 was trained on Wikipedia, Tatoeba and SETimes: it knows "quanto custa" but
not "vc", "kak", "ongkir", "wkwk", "pls" or unaccented Vietnamese. These lists add evidence for
such words. They were written from general knowledge of live-commerce chat *before* the
development set was written (see docs/langid.md), and hold only words that are frequent in chat
and point to one language among the common chat languages. A word shared by two languages
(pt/es "lindo") is listed for neither unless both are named; ambiguous words are left out.

Every entry is lower-case, and runs of three or more equal letters are cut to two, as
:func:`langid.detector.clean_text` does ("kkkkk" -> "kk").
"""

from __future__ import annotations


def _words(spec: str) -> frozenset[str]:
    return frozenset(spec.split())


# Words typical of chat in one language.
_WORDS: dict[str, frozenset[str]] = {
    "en": _words("""
        pls plz pleasee please thx thanks thank ty tysm lol lmao omg omgg price shipping
        how much love loving want wanna gonna cute need nice beautiful gorgeous yes yess the
        is this that what you your can have available colour amazing buy order
        when where it and with ur u pretty sold out thx guys girl looks look good does
        will would could i'm im i'd i'll dont don't didn't cant can't it's its whats what's
        soo so much shipped stunning awesome love hey bought"""),
    "pt": _words("""
        vc vcs voce voces você vocês tb tbm obg obgd obrigada obrigado blz kd cade cadê né
        nao não tô moça moço amei frete quero custa tamanho tamanhos cor cores maravilhosa
        maravilhoso perfeito perfeita ficou chega chegou entrega pra nossa muito mto mt bom
        boa kk rs rsrs já tem preço preco parcela parcelado parcelas pix boleto cartão cartao
        meu minha quando ainda também tambem estoque disponível disponivel sim eu esse essa
        isso vou vai fica lindaa lindoo gostei tá aceita pagamento entregam quanto"""),
    "es": _words("""
        jaja jajaja jeje jsjs porfa xfa xq precio cuánto cuanto cuesta cuestan envío
        envían envian talla tallas quiero hermoso hermosa tienen tiene puedo gracias qué hay
        llega llegan también tambien mucho muy yo hola ahora chica guapa ustedes tengo
        necesito dónde donde cuál cual envíos tmb bellísimo bellisima preciosa precioso
        manden hacen"""),
    "id": _words("""
        kak kakak berapa harga ongkir bisa ga gak nggak ngga enggak gk dong deh kok aja udah
        sudah mau beli wkwk wkwkwk bgt banget cantik bagus warna ukuran kirim ada yang yg ini
        itu kalau kalo udh blm belum sdh tp tapi dgn dengan jg juga gimana gmn mbak mba bang
        bun bunda sist kapan sampai sampe murah mahal aku saya pesan pesen keranjang
        diskon ori asli stok lagi masih dikirim ka berapaan brp"""),
    "vi": _words("""
        sp ko khong không hok hông dc đc duoc được bn bnh bao nhieu nhiêu gia giá ib ơi qua
        quá dep đẹp nay này áo quan quần giao hàng nha nhe nhé ạ j gì mua xinh xem tư
        vấn het hết còn luon luôn nhiu lun chị chi anh cho mình minh"""),
    "tr": _words("""
        kaç kac fiyat fiyatı fiyati kargo beden renk var mı abla abi çok cok güzel guzel tl
        teşekkürler tesekkurler merhaba indirim istiyorum kadar nasıl nasil iade sipariş
        siparis ürün urun yok evet hayır hayir bunun numara ayakkabı elbise harika lütfen
        lutfen canım canim"""),
    "de": _words("""
        wie viel kostet versand größe grösse groesse farbe danke schön schoen bitte haben
        gibt ich nicht und auch noch gerne geil toll hübsch huebsch kleid jacke
        lieferung wann kommt kann nein bestellen gibts hab habe schuhe wunderschön sehr"""),
    "fr": _words("""
        c'est cest j'aime j'adore combien livraison taille couleur magnifique trop mdr ptdr
        svp stp merci je veux ça coucou bonjour bjr slt salut jolie joli vous oui avez
        livrez quand prix pour aussi très jsuis bcp dispo chaussures envoyez qu'est"""),
}

# Words no language claims on its own but two do (they still narrow the choice).
_SHARED: dict[str, tuple[str, ...]] = {
    "lindo": ("pt", "es"), "linda": ("pt", "es"), "oi": ("pt", "vi"), "oii": ("pt", "vi"),
    "ya": ("id", "es"), "amo": ("pt", "es"), "gente": ("pt", "es"), "bonito": ("pt", "es"),
    "bonita": ("pt", "es"), "comprar": ("pt", "es"), "aqui": ("pt", "es"),
    "como": ("pt", "es"), "que": ("pt", "es", "fr"), "pq": ("pt", "es"),
}

# Letters that (among common chat languages) belong to one language or a small family.
LETTER_HINTS: dict[str, tuple[str, ...]] = {
    # Latin
    "ß": ("de",), "ñ": ("es",), "¿": ("es",), "¡": ("es",), "ã": ("pt", "vi"),
    "õ": ("pt",), "ı": ("tr", "az"), "ğ": ("tr", "az"), "ş": ("tr", "az", "ro"),
    "ư": ("vi",), "ơ": ("vi",), "đ": ("vi", "hr", "sr", "bs"),
    "ạ": ("vi",), "ả": ("vi",), "ấ": ("vi",), "ầ": ("vi",), "ẩ": ("vi",), "ẫ": ("vi",),
    "ậ": ("vi",), "ắ": ("vi",), "ằ": ("vi",), "ẳ": ("vi",), "ẵ": ("vi",), "ặ": ("vi",),
    "ẻ": ("vi",), "ế": ("vi",), "ề": ("vi",), "ể": ("vi",), "ễ": ("vi",), "ệ": ("vi",),
    "ỉ": ("vi",), "ỏ": ("vi",), "ố": ("vi",), "ồ": ("vi",), "ổ": ("vi",), "ỗ": ("vi",),
    "ộ": ("vi",), "ớ": ("vi",), "ờ": ("vi",), "ở": ("vi",), "ỡ": ("vi",), "ợ": ("vi",),
    "ủ": ("vi",), "ứ": ("vi",), "ừ": ("vi",), "ử": ("vi",), "ữ": ("vi",), "ự": ("vi",),
    "ỳ": ("vi",), "ỵ": ("vi",), "ỷ": ("vi",),
    # Cyrillic
    "ы": ("ru", "be"), "э": ("ru", "be"), "ё": ("ru", "be"), "ъ": ("ru", "bg"),
    "і": ("uk", "be", "kk"), "ї": ("uk",), "є": ("uk",), "ґ": ("uk",), "ў": ("be",),
    "ђ": ("sr",), "ћ": ("sr",), "ј": ("sr", "mk"), "љ": ("sr", "mk"), "њ": ("sr", "mk"),
    "џ": ("sr", "mk"), "ѓ": ("mk",), "ќ": ("mk",), "ѕ": ("mk",),
    # Arabic script
    "ة": ("ar",), "ى": ("ar",), "ي": ("ar",), "ك": ("ar",), "إ": ("ar",),
    "پ": ("fa", "ur"), "چ": ("fa", "ur"), "ژ": ("fa", "ur"), "گ": ("fa", "ur"),
    "ی": ("fa", "ur"), "ک": ("fa", "ur"), "ٹ": ("ur",), "ڈ": ("ur",), "ڑ": ("ur",),
    "ں": ("ur",), "ے": ("ur",), "ھ": ("ur",),
}


def _build() -> dict[str, tuple[str, ...]]:
    table: dict[str, set[str]] = {}
    for lang, words in _WORDS.items():
        for word in words:
            table.setdefault(word, set()).add(lang)
    for word, langs in _SHARED.items():
        table.setdefault(word, set()).update(langs)
    return {w: tuple(sorted(langs)) for w, langs in table.items()}


# token -> languages it points to
WORDS: dict[str, tuple[str, ...]] = _build()
