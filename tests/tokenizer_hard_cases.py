"""Hand-written hard cases for the tokenizer, grouped by what they probe."""

ACCENTS = [
    "naïve café RÉSUMÉ Ångström façade",
    "Crème brûlée à la française, s'il vous plaît",
    "Ölçek ığdır İSTANBUL Şişli Çağrı",
    "Dvořák, Łódź, Kraków, Gdańsk, Žižkov",
    "combining e\u0301 vs \u00e9, a\u0300 and o\u0308\u0304",
    "Zalgo t̸̢e̵x̴t̷ h̶e̴r̸e̵",
    "Vietnamese: Tiếng Việt có dấu thanh điệu",
    "Portuguese: ação, coração, pão, mãe",
    "Ǆemal ǅ ǆ ΐ ŉ ǰ",
    "Spanish ¿Qué tal? ¡Muy bien! Niño, año, señor",
]
CJK = [
    "中文字符和日本語のテキスト",
    "我爱北京天安门。你好，世界！",
    "日本語のひらがなとカタカナ、漢字が混ざる文",
    "한국어 텍스트와 한글 자모 ㄱㄴㄷ",
    "繁體中文與簡體中文：龍与龙",
    "CJK extension B: 𠀀𠀁𠀂 and compatibility 豈更車",
    "mixed中文English混合text",
    "full stop。comma、brackets「」『』【】",
    "半角ｶﾀｶﾅ and 全角ＡＢＣ",
    "Kanbun ㆐㆑ and radicals ⺀⺁ ⼀⼁",
]
SCRIPTS = [
    "Привет, мир! Ёлка и йод. ПРОПИСНЫЕ буквы",
    "Українська: ґанок, їжак, є",
    "ΟΔΟΣ ΣΟΦΟΣ — Greek final sigma; Ἀθῆναι",
    "Ελληνικά: καλημέρα, ευχαριστώ πολύ!",
    "Arabic مرحبا بالعالم، كيف حالك؟",
    "Arabic diacritics: مُحَمَّد and tatweel مـــرحبا",
    "Hebrew שָׁלוֹם עוֹלָם and plain שלום",
    "Hindi नमस्ते दुनिया, क्षत्रिय, हिन्दी।",
    "Thai สวัสดีครับ ภาษาไทย",
    "Tamil வணக்கம், Bengali নমস্কার, Gujarati નમસ્તે",
    "Georgian გამარჯობა, Armenian Բարեւ, Amharic ሰላም",
    "Mongolian ᠮᠣᠩᠭᠣᠯ and Tibetan བོད་ཡིག",
]
EMOJI = [
    "emoji 😀👍🏽 and families 👨‍👩‍👧‍👦 with ZWJ",
    "flags 🇫🇷🇯🇵 and keycaps 1️⃣ #️⃣",
    "hearts ❤️ vs ❤ and variation selectors ︎︎",
    "symbols ©®™ § ¶ † ‡ • … ‰ € £ ¥ ₹ ₿",
    "math ∑ √ ∞ ≠ ≤ ≥ ± × ÷ ∂ ∫ ∈ ∀ ∃",
    "arrows ← → ↑ ↓ ⇒ ⇔ and boxes ┌─┐ │ └─┘",
    "music ♩♪♫♬ and chess ♔♕♖ and cards ♠♥♦♣",
    "dingbats ✓✗✔✘ ★☆ ☺☹ ☀☁☂",
]
LIGATURES_AND_WIDTH = [
    "ﬁne ligatures ﬂow ﬀ ﬃ ﬄ ﬅ ﬆ",
    "full-width ＡＢＣ１２３ and ｆｕｌｌ－ｗｉｄｔｈ！",
    "roman numerals Ⅻ ⅻ Ⅳ and fractions ½ ¼ ¾",
    "superscripts x² y³ and subscripts H₂O, CO₂",
    "German straße, STRASSE, ẞ and ß",
    "circled ① ② ⓐ ⓑ and parenthesised ⑴ ⒜",
    "Kelvin K and Ohm Ω and Angstrom Å signs",
    "dotless ı and dotted İ, long s ſ",
    "compatibility ㍻ ㎏ ㎞ ℡ ™ №",
    "mathematical 𝐀𝐁𝐂 𝑎𝑏𝑐 𝔸𝔹ℂ",
]
CONTROLS = [
    "tabs\tnew\nlines\r\nvertical\x0btab form\x0cfeed",
    "file\x1csep group\x1dsep record\x1esep unit\x1fsep",
    "next\x85line and delete\x7fchar and C1\x80\x9f",
    "zero\u200bwidth\u200djoiner\u200cnon-joiner",
    "soft\u00adhyphen bom\ufeffhere word\u2060joiner",
    "nul\x00char and replacement\ufffdchar",
    "bidi \u202aLRE\u202c \u202eRLO\u202c \u2066isolate\u2069",
    "no\u00a0break\u2003em\u3000ideographic\u2028line\u2029para",
    "thin\u2009space hair\u200aspace narrow\u202fnbsp medium\u205fmath",
    "ogham\u1680space and mongolian\u180evowel sep",
    "\t\n\r leading and trailing whitespace \t\n\r",
    "bell\x07 backspace\x08 escape\x1b[31mred\x1b[0m",
]
SPECIALS = [
    "Literal [CLS] and [SEP] and [MASK] and [UNK] are plain text",
    "[CLS][SEP][PAD][MASK]",
    "[cls] lower-case specials [sep]",
    "##suffix ##looking ## text",
    "[unused0] [unused99] tokens",
    "<s> </s> <pad> <unk> <mask> other models' specials",
]
PUNCTUATION = [
    "Hello, World! It's 3:45pm -- isn't it?",
    "urls http://example.com/a?b=c&d=e#f and emails a.b@c.de",
    "quotes “curly” ‘single’ «guillemets» „low“ ‹single›",
    "dashes ‐ ‑ ‒ – — ― and ellipsis …",
    "ASCII symbols !\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~",
    "money $1,234.56 €7,89 ¥100 and 50% off",
    "C++ and C# and F# and .NET and node.js",
    "file_name_with_underscores.tar.gz",
    "hashtags #BERT #NLP and mentions @google",
    "Unicode P*: ‧ ※ ‼ ⁇ ⁈ ⁉ ‽ ⸮ ¡¿ · ·",
    "Armenian ՛ ՜ ՝ ՞ and Arabic ، ؛ ؟ punctuation",
    "CJK 、。〃〈〉《》「」 and full-width ！？",
]
LENGTHS = [
    "a" * 99,
    "b" * 100,
    "c" * 150,
    "d" * 199,
    "e" * 200,
    "f" * 201,
    "é" * 120,
    "é" * 201,
    "中" * 250,
    "x" * 200 + " " + "y" * 201 + " ok",
    "antidisestablishmentarianism " * 8,
    "pneumonoultramicroscopicsilicovolcanoconiosis",
    "supercalifragilisticexpialidocious" * 6,
    "ab" * 101,
    "a.b" * 90,
]
EDGE = ["", " ", "   ", "\t", "\n\n", ".", "a", "A", "Ä", "中", "😀", "\u200b", "\x00", "\ufffd"]

HARD_CASES = (ACCENTS + CJK + SCRIPTS + EMOJI + LIGATURES_AND_WIDTH + CONTROLS + SPECIALS
              + PUNCTUATION + LENGTHS + EDGE)
