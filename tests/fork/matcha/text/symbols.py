"""The fork's own symbol table: one symbol per character, in an order different from upstream Matcha's.

Id 0 is the pad ``"_"`` (the blank interspersed when ``add_blank``); then punctuation (space included),
IPA vowels, consonants, suprasegmentals, tone letters, diacritics and combining marks. ASCII capital
letters are not symbols; lowercase ASCII letters appear once, among the vowels or consonants.
"""

_pad = "_"
_punctuation = ";:,.!?¡¿—…-'\"«»“”()[]/ "
_vowels = "aeiouyɑɐɒæəɘɚɛɜɝɞɤɨɪɯɵɶʉʊʌʏøœɔᵻ"
_consonants = "bcdfghjklmnpqrstvwxzɓɕçʝɗɖðɟʄɡɠɢʛɦɧħɥʜɭɬɫɮʟɱɰŋɳɲɴɸθɹɺɾɻʀʁɽʂʃʈʋⱱʍχʎʐʑʒʔʡʕʢǀǁǂǃʘβɣ"
_suprasegmentals = "ˈˌːˑ‿"
_tones = "↓↑→↗↘˥˦˧˨˩"
_diacritics = "ʰʱʲʷˠˤ˞ⁿˡʼʴ"
_combining = "\u0329\u032f\u0303\u031a"

#: All symbols; a symbol's id is its index.
symbols: list[str] = (
    [_pad]
    + list(_punctuation)
    + list(_vowels)
    + list(_consonants)
    + list(_suprasegmentals)
    + list(_tones)
    + list(_diacritics)
    + list(_combining)
)

#: Symbol -> id.
symbol_to_id: dict[str, int] = {s: i for i, s in enumerate(symbols)}

assert len(symbol_to_id) == len(symbols), "duplicate symbol in the fork's table"
