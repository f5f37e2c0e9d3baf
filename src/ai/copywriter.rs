//! The offline copywriter: ad copy from the brief alone, when no AI provider is configured (or
//! it failed). It writes in the brief's language (English, German, French or Spanish, guessed
//! from the brief's words; English when it cannot tell), builds every line from what the brief
//! says (product, benefits, audience, keyword, description), varies the lines between
//! variations, and keeps every line within its platform's limit without cutting a word. Stock
//! calls to action are the last resort, for a brief too thin (or too avoided) to fill an ad.
//! A brief in a script none of the phrasebooks writes (Japanese, Korean, …) gets lines made of
//! its own words only, so no English is mixed in unless nothing else fits.

use std::collections::HashSet;

use super::copy::{
    CopyBrief, Draft, LineKind, avoided_in, capitalize, is_double_width, title_case,
};
use crate::types::Platform;

/// The language the offline copywriter writes in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    En,
    De,
    Fr,
    Es,
    /// A script none of the phrasebooks writes: the brief's own words only.
    Other,
}

impl Lang {
    pub fn label(self) -> &'static str {
        match self {
            Lang::En => "English",
            Lang::De => "German",
            Lang::Fr => "French",
            Lang::Es => "Spanish",
            Lang::Other => "the brief's own language",
        }
    }
}

/// Short, frequent words that tell the languages apart.
const STOPWORDS: [(Lang, &[&str]); 4] = [
    (
        Lang::En,
        &[
            "the", "and", "for", "with", "your", "you", "our", "of", "to", "is", "are", "from",
            "get", "free", "fast", "all", "new", "who", "that",
        ],
    ),
    (
        Lang::De,
        &[
            "und",
            "der",
            "die",
            "das",
            "für",
            "mit",
            "ihr",
            "ihre",
            "dein",
            "deine",
            "sie",
            "von",
            "zu",
            "ist",
            "nicht",
            "auf",
            "ein",
            "eine",
            "kostenlos",
            "jetzt",
            "versand",
            "schnell",
            "oder",
            "bei",
            "im",
            "den",
        ],
    ),
    (
        Lang::Fr,
        &[
            "et",
            "le",
            "les",
            "des",
            "pour",
            "avec",
            "votre",
            "vos",
            "du",
            "une",
            "est",
            "sur",
            "gratuit",
            "gratuite",
            "livraison",
            "nos",
            "au",
            "aux",
            "qui",
            "dans",
            "pas",
        ],
    ),
    (
        Lang::Es,
        &[
            "y", "el", "los", "las", "para", "con", "tu", "tus", "su", "sus", "del", "una", "es",
            "gratis", "envío", "nuestro", "nuestra", "al", "que", "por", "sin",
        ],
    ),
];

/// Letters that only (or mostly) one of the languages writes.
fn letter_vote(c: char) -> Option<Lang> {
    match c {
        'ä' | 'ö' | 'ü' | 'ß' | 'Ä' | 'Ö' | 'Ü' => Some(Lang::De),
        'é' | 'è' | 'ê' | 'à' | 'ç' | 'ù' | 'â' | 'î' | 'ô' | 'œ' | 'ë' | 'ï' | 'É' | 'È' => {
            Some(Lang::Fr)
        }
        'ñ' | 'á' | 'í' | 'ó' | 'ú' | '¿' | '¡' | 'Ñ' => Some(Lang::Es),
        _ => None,
    }
}

/// Guesses the brief's language from its words and letters; English when nothing tells.
pub fn detect(brief: &CopyBrief) -> Lang {
    let text = [
        brief.product.as_str(),
        &brief.description,
        &brief.audience,
        &brief.benefits,
        &brief.keyword,
    ]
    .join(" ");
    let letters: Vec<char> = text.chars().filter(|c| c.is_alphabetic()).collect();
    if letters.is_empty() {
        return Lang::En;
    }
    // Latin letters end at U+024F; a brief mostly in another script is not one we write.
    let latin = letters.iter().filter(|c| (**c as u32) < 0x250).count();
    if latin * 2 < letters.len() {
        return Lang::Other;
    }
    let mut score = [
        (Lang::En, 0usize),
        (Lang::De, 0),
        (Lang::Fr, 0),
        (Lang::Es, 0),
    ];
    for w in text
        .split(|c: char| !(c.is_alphabetic() || c == '\''))
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
    {
        for (lang, list) in STOPWORDS {
            if list.contains(&w.as_str())
                && let Some(s) = score.iter_mut().find(|s| s.0 == lang)
            {
                s.1 += 2;
            }
        }
    }
    for c in text.chars() {
        if let Some(lang) = letter_vote(c)
            && let Some(s) = score.iter_mut().find(|s| s.0 == lang)
        {
            s.1 += 1;
        }
    }
    // Ties go to the earlier language, English first.
    score
        .iter()
        .fold(
            (Lang::En, 0),
            |best, s| if s.1 > best.1 { *s } else { best },
        )
        .0
}

/// The words of one language the copywriter puts around the brief's.
struct Book {
    and: &'static str,
    /// "For {}": an audience as a headline.
    for_: &'static str,
    /// "Made for {}.": an audience as a sentence.
    made_for: &'static str,
    /// Calls to action around the product ("Discover {}").
    with_product: &'static [&'static str],
    /// Calls to action by tone: professional, bold, playful, anything else.
    ctas: [&'static [&'static str]; 4],
    /// Plain calls to action, the last resort.
    plain: &'static [&'static str],
    /// Headlines in title case (English does it; the others capitalize the first word).
    title: bool,
    /// Sentence ending for a call to action on TikTok.
    exclaim: &'static str,
}

const EN: Book = Book {
    and: "and",
    for_: "For {}",
    made_for: "Made for {}.",
    with_product: &["Discover {}", "Shop {}", "Order {}", "Get {}", "{} for You"],
    ctas: [
        &[
            "Learn More",
            "Request Details",
            "See How It Works",
            "Book a Demo",
        ],
        &["Order Now", "Get Yours Now", "Don't Wait", "Claim Yours"],
        &[
            "Give It a Go",
            "Treat Yourself",
            "Come Take a Look",
            "Why Not Today?",
        ],
        &["Shop Now", "Find Out More", "See the Range", "Order Online"],
    ],
    plain: &[
        "Learn More",
        "Order Now",
        "Shop Now",
        "Get Started",
        "See Details",
        "Book Now",
        "Sign Up",
        "Visit Us",
    ],
    title: true,
    exclaim: "!",
};

const DE: Book = Book {
    and: "und",
    for_: "Für {}",
    made_for: "Gemacht für {}.",
    with_product: &[
        "{} entdecken",
        "{} bestellen",
        "{} online kaufen",
        "Jetzt {} sichern",
        "{} für dich",
    ],
    ctas: [
        &[
            "Mehr erfahren",
            "Details anfordern",
            "So funktioniert es",
            "Beratung anfragen",
        ],
        &[
            "Jetzt bestellen",
            "Jetzt sichern",
            "Nicht warten",
            "Jetzt zugreifen",
        ],
        &[
            "Probier es aus",
            "Gönn dir was",
            "Schau vorbei",
            "Einfach testen",
        ],
        &[
            "Jetzt ansehen",
            "Mehr erfahren",
            "Online bestellen",
            "Jetzt entdecken",
        ],
    ],
    plain: &[
        "Mehr erfahren",
        "Jetzt bestellen",
        "Jetzt entdecken",
        "Jetzt starten",
        "Details ansehen",
        "Jetzt buchen",
        "Jetzt anmelden",
        "Online kaufen",
    ],
    title: false,
    exclaim: "!",
};

const FR: Book = Book {
    and: "et",
    for_: "Pour {}",
    made_for: "Conçu pour {}.",
    with_product: &[
        "Découvrez {}",
        "Commandez {}",
        "{} en ligne",
        "Offrez-vous {}",
        "{} pour vous",
    ],
    ctas: [
        &[
            "En savoir plus",
            "Demander un devis",
            "Voir comment ça marche",
            "Prendre rendez-vous",
        ],
        &[
            "Commandez maintenant",
            "Profitez-en",
            "N'attendez plus",
            "Foncez",
        ],
        &[
            "Laissez-vous tenter",
            "Faites-vous plaisir",
            "Venez voir",
            "Essayez donc",
        ],
        &[
            "Découvrir",
            "En savoir plus",
            "Commander en ligne",
            "Voir la gamme",
        ],
    ],
    plain: &[
        "En savoir plus",
        "Commander",
        "Découvrir",
        "Commencer",
        "Voir les détails",
        "Réserver",
        "S'inscrire",
        "Acheter en ligne",
    ],
    title: false,
    exclaim: " !",
};

const ES: Book = Book {
    and: "y",
    for_: "Para {}",
    made_for: "Pensado para {}.",
    with_product: &[
        "Descubre {}",
        "Pide {}",
        "{} online",
        "Consigue {}",
        "{} para ti",
    ],
    ctas: [
        &[
            "Más información",
            "Solicita detalles",
            "Mira cómo funciona",
            "Pide una demo",
        ],
        &[
            "Pide ya",
            "Consíguelo ahora",
            "No esperes más",
            "Hazte con el tuyo",
        ],
        &[
            "Pruébalo",
            "Date un capricho",
            "Ven a verlo",
            "Atrévete hoy",
        ],
        &[
            "Descubre más",
            "Más información",
            "Compra online",
            "Ver la gama",
        ],
    ],
    plain: &[
        "Más información",
        "Pide ya",
        "Descubre más",
        "Empieza hoy",
        "Ver detalles",
        "Reserva",
        "Regístrate",
        "Compra online",
    ],
    title: false,
    exclaim: "!",
};

fn book(lang: Lang) -> &'static Book {
    match lang {
        Lang::En | Lang::Other => &EN,
        Lang::De => &DE,
        Lang::Fr => &FR,
        Lang::Es => &ES,
    }
}

fn tone_index(tone: &str) -> usize {
    let t = tone.to_lowercase();
    if t.contains("professional") || t.contains("formal") {
        0
    } else if t.contains("bold") || t.contains("urgent") || t.contains("direct") {
        1
    } else if t.contains("playful") || t.contains("fun") || t.contains("casual") {
        2
    } else {
        3
    }
}

/// Rotates `v` by `i`, so each variation leads with different lines.
fn rotate<T: Clone>(v: &[T], i: usize) -> Vec<T> {
    if v.is_empty() {
        return Vec::new();
    }
    let k = i % v.len();
    v[k..].iter().chain(&v[..k]).cloned().collect()
}

/// The leading words of `s` that fit in `limit` (as `kind` counts), or None when even the
/// first word does not. Never cuts a word.
fn leading_words(s: &str, kind: LineKind, limit: usize) -> Option<String> {
    let mut out = String::new();
    for w in s.split_whitespace() {
        let next = if out.is_empty() {
            w.to_string()
        } else {
            format!("{out} {w}")
        };
        if kind.length(&next) > limit {
            break;
        }
        out = next;
    }
    let out = out
        .trim_end_matches([',', ';', ':', '-', '–', '|', '.'])
        .to_string();
    (!out.is_empty()).then_some(out)
}

/// `s` when it fits whole in `kind`'s limit.
fn whole(s: String, kind: LineKind) -> Option<String> {
    (kind.length(&s) <= kind.limit()).then_some(s)
}

fn squash(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Picks lines that fit, avoid the avoided words and do not repeat.
struct Picker<'a> {
    kind: LineKind,
    avoid: &'a [String],
    used: HashSet<String>,
}

impl<'a> Picker<'a> {
    fn new(kind: LineKind, avoid: &'a [String]) -> Self {
        Picker {
            kind,
            avoid,
            used: HashSet::new(),
        }
    }

    fn acceptable(&self, s: &str) -> bool {
        !s.trim().is_empty()
            && self.kind.length(s) <= self.kind.limit()
            && avoided_in(s, self.avoid).is_none()
            && !self.used.contains(&s.trim().to_lowercase())
    }

    fn pick_all(
        &mut self,
        candidates: impl IntoIterator<Item = String>,
        max: usize,
    ) -> Vec<String> {
        let mut out = Vec::new();
        for c in candidates {
            if out.len() >= max {
                break;
            }
            if self.acceptable(&c) {
                self.used.insert(c.trim().to_lowercase());
                out.push(c);
            }
        }
        out
    }

    fn pick(&mut self, candidates: impl IntoIterator<Item = String>) -> Option<String> {
        self.pick_all(candidates, 1).into_iter().next()
    }
}

/// What the copywriter knows of one brief, ready to compose.
struct Parts<'a> {
    lang: Lang,
    book: &'a Book,
    product: String,
    keyword: String,
    audience: String,
    description: String,
    benefits: Vec<String>,
    /// Tone's calls to action, then the plain ones, rotated per variation.
    ctas: Vec<&'static str>,
    with_product: Vec<&'static str>,
    /// ", " and "." — or "、" and "。" for a brief in Chinese or Japanese characters.
    sep: &'static str,
    stop: &'static str,
}

impl Parts<'_> {
    /// A headline's casing in this language.
    fn head(&self, s: &str) -> String {
        if self.book.title && self.lang == Lang::En {
            title_case(s)
        } else {
            capitalize(s)
        }
    }

    /// "a, b and c" in this language (a plain list for a brief in another script).
    fn list(&self, items: &[String]) -> String {
        match items {
            [] => String::new(),
            [one] => one.clone(),
            [init @ .., last] if self.lang != Lang::Other => {
                format!("{} {} {last}", init.join(", "), self.book.and)
            }
            all => all.join(self.sep),
        }
    }

    fn cta(&self, k: usize) -> Option<&'static str> {
        if self.lang == Lang::Other {
            return None;
        }
        self.ctas.get(k % self.ctas.len().max(1)).copied()
    }

    /// A call to action inside a sentence: English ones are written for headlines ("See the
    /// Range") and read as sentences ("See the range.") in descriptions.
    fn sentence(&self, cta: &str) -> String {
        if self.lang == Lang::En {
            capitalize(&cta.to_lowercase())
        } else {
            cta.to_string()
        }
    }

    fn cta_s(&self, k: usize) -> Option<String> {
        self.cta(k).map(|c| self.sentence(c))
    }

    /// Calls to action around the product, when this language has them.
    fn product_ctas(&self) -> Vec<String> {
        if self.lang == Lang::Other || self.product.is_empty() {
            return Vec::new();
        }
        self.with_product
            .iter()
            .map(|t| t.replace("{}", &self.product))
            .collect()
    }

    fn for_audience(&self) -> Option<String> {
        (self.lang != Lang::Other && !self.audience.is_empty())
            .then(|| self.book.for_.replace("{}", &self.audience))
    }

    /// Last resort: plain calls to action (English for a brief in another script, since
    /// an ad needs its lines).
    fn fallback(&self) -> Vec<String> {
        let mut v: Vec<String> = self.ctas.iter().map(|c| c.to_string()).collect();
        if self.lang == Lang::Other {
            v.extend(EN.plain.iter().map(|c| c.to_string()));
        }
        v
    }
}

fn parts(brief: &CopyBrief, i: usize) -> Parts<'static> {
    let lang = detect(brief);
    let book = book(lang);
    let t = tone_index(&brief.tone);
    let ctas: Vec<&'static str> =
        book.ctas[t]
            .iter()
            .chain(book.plain.iter())
            .copied()
            .fold(Vec::new(), |mut v, c| {
                if !v.contains(&c) {
                    v.push(c);
                }
                v
            });
    let cjk =
        brief.product.chars().any(is_double_width) || brief.benefits.chars().any(is_double_width);
    Parts {
        lang,
        book,
        product: squash(&brief.product),
        keyword: squash(&brief.keyword),
        audience: squash(&brief.audience),
        description: squash(brief.description.trim_end_matches(['.', '!', '。'])),
        benefits: rotate(
            &brief
                .benefit_list()
                .iter()
                .map(|b| squash(b))
                .collect::<Vec<_>>(),
            i,
        ),
        ctas: rotate(&ctas, i),
        with_product: rotate(book.with_product, i),
        sep: if cjk { "、" } else { ", " },
        stop: if cjk { "。" } else { "." },
    }
}

/// Drafts `brief.variations` variations for `platform`, deterministically and within every
/// limit (the proptest in `ai::copy` holds it to that).
pub fn offline(brief: &CopyBrief, platform: Platform) -> Vec<Draft> {
    let n = brief.variations.clamp(1, super::copy::MAX_VARIATIONS);
    (0..n).map(|i| offline_one(brief, platform, i)).collect()
}

fn offline_one(brief: &CopyBrief, platform: Platform, i: usize) -> Draft {
    let avoid = brief.avoid_list();
    let p = parts(brief, i);
    match platform {
        Platform::Google => google(&p, &avoid, i),
        Platform::Meta => meta(&p, &avoid, i),
        Platform::Tiktok => tiktok(&p, &avoid, i),
    }
}

fn google(p: &Parts, avoid: &[String], i: usize) -> Draft {
    Draft::Google {
        headlines: google_headlines(p, avoid, i),
        descriptions: google_descriptions(p, avoid),
    }
}

/// Up to eight headlines, at least three.
fn google_headlines(p: &Parts, avoid: &[String], i: usize) -> Vec<String> {
    let kind = LineKind::GoogleHeadline;
    let lim = kind.limit();
    let mut pick = Picker::new(kind, avoid);
    let mut headlines = Vec::new();
    // The keyword first, so at least one headline carries it, each variation pairing it with
    // something else of the brief.
    if !p.keyword.is_empty() {
        let kw = p.head(&p.keyword);
        let mut with: Vec<String> = vec![format!("{kw} | {}", p.head(&p.product))];
        with.extend(p.benefits.iter().map(|b| format!("{kw}: {}", p.head(b))));
        with.extend(
            p.for_audience()
                .map(|a| format!("{kw} {}", a.to_lowercase())),
        );
        let with = rotate(&with, i);
        if let Some(h) = pick.pick(with.into_iter().filter_map(|s| whole(s, kind)).chain([kw])) {
            headlines.push(h);
        }
    }
    let mut cands: Vec<String> = Vec::new();
    cands.extend(leading_words(&p.head(&p.product), kind, lim));
    for b in &p.benefits {
        cands.extend(leading_words(&p.head(b), kind, lim));
    }
    cands.extend(
        p.product_ctas()
            .into_iter()
            .filter_map(|s| whole(p.head(&s), kind)),
    );
    cands.extend(p.for_audience().and_then(|a| whole(p.head(&a), kind)));
    for (k, b) in p.benefits.iter().enumerate() {
        if let Some(c) = p.cta(k) {
            cands.extend(whole(format!("{} – {c}", p.head(b)), kind));
        }
    }
    let room = 8usize.saturating_sub(headlines.len());
    headlines.extend(pick.pick_all(cands, room));
    // Plain calls to action only to reach the three headlines an ad needs.
    if headlines.len() < 3 {
        let short = 3 - headlines.len();
        headlines.extend(pick.pick_all(p.fallback(), short));
    }
    headlines
}

/// Up to four descriptions, at least two.
fn google_descriptions(p: &Parts, avoid: &[String]) -> Vec<String> {
    let kind = LineKind::GoogleDescription;
    let mut pick = Picker::new(kind, avoid);
    let stop = p.stop;
    let mut cands: Vec<String> = Vec::new();
    if !p.description.is_empty() {
        cands.extend(
            leading_words(&format!("{}: {}", p.product, p.description), kind, 89)
                .map(|d| format!("{d}{stop}")),
        );
        cands.extend(
            leading_words(&capitalize(&p.description), kind, 89).map(|d| format!("{d}{stop}")),
        );
    }
    if !p.benefits.is_empty() {
        // The whole list when it fits, else as many benefits as fit (never half a word).
        match whole(
            format!("{}: {}{stop}", capitalize(&p.product), p.list(&p.benefits)),
            kind,
        ) {
            Some(all) => cands.push(all),
            None => cands.extend(
                leading_words(
                    &format!("{}: {}", capitalize(&p.product), p.benefits.join(p.sep)),
                    kind,
                    89,
                )
                .map(|d| format!("{d}{stop}")),
            ),
        }
    }
    for (k, b) in p.benefits.iter().enumerate() {
        let line = match p.cta_s(k + 1) {
            Some(c) => format!("{}{stop} {c}{stop}", capitalize(b)),
            None => format!("{}{stop}", capitalize(b)),
        };
        cands.extend(whole(line, kind));
    }
    if let (false, Some(c)) = (p.audience.is_empty() || p.lang == Lang::Other, p.cta_s(2)) {
        cands.extend(whole(
            format!("{} {c}{stop}", p.book.made_for.replace("{}", &p.audience)),
            kind,
        ));
    }
    for (k, s) in p.product_ctas().into_iter().enumerate() {
        if let Some(b) = p.benefits.get(k) {
            cands.extend(whole(format!("{s}{stop} {}{stop}", capitalize(b)), kind));
        }
        cands.extend(whole(format!("{s}{stop}"), kind));
    }
    let mut descriptions = pick.pick_all(cands, 4);
    if descriptions.len() < 2 {
        let short = 2 - descriptions.len();
        descriptions.extend(
            pick.pick_all(
                p.fallback()
                    .into_iter()
                    .map(|c| format!("{}{stop}", p.sentence(&c))),
                short,
            ),
        );
    }
    descriptions
}

fn meta(p: &Parts, avoid: &[String], i: usize) -> Draft {
    let stop = p.stop;
    let kind = LineKind::MetaPrimaryText;
    let mut cands: Vec<String> = Vec::new();
    let cta = p.cta_s(0);
    let with_cta = |s: String| match &cta {
        Some(c) => format!("{s}{stop} {c}{stop}"),
        None => format!("{s}{stop}"),
    };
    if !p.description.is_empty()
        && let Some(d) = leading_words(&capitalize(&p.description), kind, 105)
    {
        cands.push(with_cta(d));
    }
    if !p.benefits.is_empty()
        && let Some(d) = leading_words(
            &format!("{}: {}", capitalize(&p.product), p.list(&p.benefits)),
            kind,
            105,
        )
    {
        cands.push(with_cta(d));
    }
    if let Some(a) = p.for_audience()
        && let Some(d) = leading_words(&format!("{a}: {}", p.product), kind, 105)
    {
        cands.push(with_cta(d));
    }
    if let (Some(s), Some(b)) = (p.product_ctas().first(), p.benefits.first())
        && let Some(d) = leading_words(&format!("{s}{stop} {}", capitalize(b)), kind, 105)
    {
        cands.push(format!("{d}{stop}"));
    }
    // Each variation leads with a different one of the brief's lines.
    let mut cands = rotate(&cands, i);
    cands.extend(leading_words(&capitalize(&p.product), kind, 110).map(with_cta));
    cands.extend(
        p.fallback()
            .into_iter()
            .map(|c| format!("{}{stop}", p.sentence(&c))),
    );
    let primary_text = Picker::new(kind, avoid).pick(cands).unwrap_or_default();

    let kind = LineKind::MetaHeadline;
    let mut cands: Vec<String> = Vec::new();
    for b in &p.benefits {
        cands.extend(leading_words(&p.head(b), kind, kind.limit()));
    }
    cands.extend(leading_words(&p.head(&p.product), kind, kind.limit()));
    if !p.keyword.is_empty() {
        cands.push(p.head(&p.keyword));
    }
    cands.extend(
        p.product_ctas()
            .into_iter()
            .filter_map(|s| whole(p.head(&s), kind)),
    );
    cands.extend(p.fallback());
    let headline = Picker::new(kind, avoid).pick(cands).unwrap_or_default();

    let kind = LineKind::MetaDescription;
    let mut cands: Vec<String> = Vec::new();
    cands.extend(
        p.product_ctas()
            .into_iter()
            .filter_map(|s| whole(capitalize(&s), kind)),
    );
    for b in p.benefits.iter().skip(1) {
        cands.extend(whole(capitalize(b), kind));
    }
    cands.extend(p.fallback());
    let mut used = Picker::new(kind, avoid);
    used.used.insert(headline.trim().to_lowercase());
    let description = used.pick(cands).unwrap_or_default();
    Draft::Meta {
        primary_text,
        headline,
        description,
    }
}

fn tiktok(p: &Parts, avoid: &[String], i: usize) -> Draft {
    let kind = LineKind::TiktokAdText;
    let stop = p.stop;
    let ex = if p.lang == Lang::Other {
        stop
    } else {
        p.book.exclaim
    };
    let mut cands: Vec<String> = Vec::new();
    let cta = p.cta_s(0);
    let end = |s: String| match &cta {
        Some(c) => format!("{s}{stop} {c}{ex}"),
        None => format!("{s}{stop}"),
    };
    if let Some(b) = p.benefits.first()
        && let Some(d) = leading_words(&format!("{}: {b}", capitalize(&p.product)), kind, 80)
    {
        cands.push(end(d));
    }
    if !p.description.is_empty()
        && let Some(d) = leading_words(&capitalize(&p.description), kind, 80)
    {
        cands.push(end(d));
    }
    if let Some(a) = p.for_audience()
        && let Some(d) = leading_words(&format!("{a}: {}", p.product), kind, 80)
    {
        cands.push(end(d));
    }
    if let (Some(s), Some(b)) = (p.product_ctas().first(), p.benefits.get(1))
        && let Some(d) = leading_words(&format!("{s}{ex} {}", capitalize(b)), kind, 95)
    {
        cands.push(format!("{d}{stop}"));
    }
    let mut cands = rotate(&cands, i);
    cands.extend(leading_words(&capitalize(&p.product), kind, 80).map(end));
    cands.extend(
        p.fallback()
            .into_iter()
            .map(|c| format!("{}{ex}", p.sentence(&c))),
    );
    Draft::Tiktok {
        ad_text: Picker::new(kind, avoid).pick(cands).unwrap_or_default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn brief(product: &str, benefits: &str, audience: &str, keyword: &str) -> CopyBrief {
        CopyBrief {
            product: product.into(),
            description: String::new(),
            audience: audience.into(),
            tone: "friendly".into(),
            benefits: benefits.into(),
            keyword: keyword.into(),
            avoid: String::new(),
            variations: 3,
            platforms: Platform::ALL.to_vec(),
        }
    }

    #[test]
    fn the_briefs_language_is_recognized() {
        let cases = [
            (
                brief(
                    "Trail running shoes",
                    "Grippy soles, Free returns",
                    "runners who love the hills",
                    "trail shoes",
                ),
                Lang::En,
            ),
            (
                brief(
                    "Laufschuhe für Trails",
                    "Griffige Sohle, kostenloser Rückversand",
                    "Läufer in den Bergen",
                    "laufschuhe",
                ),
                Lang::De,
            ),
            (
                brief(
                    "Chaussures de trail",
                    "Semelle adhérente, retours gratuits",
                    "les coureurs des montagnes",
                    "chaussures trail",
                ),
                Lang::Fr,
            ),
            (
                brief(
                    "Zapatillas de trail",
                    "Suela con agarre, devolución gratis",
                    "corredores de montaña",
                    "zapatillas trail",
                ),
                Lang::Es,
            ),
            (
                brief("緑茶のティーバッグ", "香りが良い, 送料無料", "", "緑茶"),
                Lang::Other,
            ),
            (brief("Tea", "", "", ""), Lang::En),
        ];
        for (b, want) in cases {
            assert_eq!(detect(&b), want, "{}", b.product);
        }
    }

    fn all_text(d: &Draft) -> String {
        match d {
            Draft::Google {
                headlines,
                descriptions,
            } => [headlines.join("\n"), descriptions.join("\n")].join("\n"),
            Draft::Meta {
                primary_text,
                headline,
                description,
            } => [primary_text.as_str(), headline, description].join("\n"),
            Draft::Tiktok { ad_text } => ad_text.clone(),
        }
    }

    #[test]
    fn drafts_speak_the_briefs_language_and_use_its_words_without_filler() {
        let de = brief(
            "Laufschuhe für Trails",
            "Griffige Sohle, kostenloser Rückversand, Leichtes Gewicht",
            "Läufer in den Bergen",
            "laufschuhe",
        );
        for p in Platform::ALL {
            for d in offline(&de, p) {
                let text = all_text(&d);
                for english in ["Try It", "Shop", "Learn More", "Order", " and ", "For "] {
                    assert!(
                        !text.contains(english),
                        "{p}: English \"{english}\" in\n{text}"
                    );
                }
                assert!(
                    text.contains("Laufschuhe")
                        || text.contains("Sohle")
                        || text.contains("Rückversand")
                        || text.contains("Gewicht"),
                    "{p}: nothing of the brief in\n{text}"
                );
            }
        }
        let ja = brief(
            "緑茶のティーバッグ",
            "香りが良い, 送料無料, 国産",
            "",
            "緑茶",
        );
        for p in Platform::ALL {
            for d in offline(&ja, p) {
                let text = all_text(&d);
                assert!(
                    !text.chars().any(|c| c.is_ascii_alphabetic()),
                    "{p}: Latin letters in Japanese copy:\n{text}"
                );
            }
        }
        let en = brief(
            "Trail running shoes",
            "Grippy soles, Free returns",
            "hill runners",
            "trail shoes",
        );
        for p in Platform::ALL {
            for d in offline(&en, p) {
                let text = all_text(&d);
                for filler in [
                    "Best ",
                    "Try It Today",
                    "Quality you can count on",
                    "Everything you need",
                ] {
                    assert!(
                        !text.contains(filler),
                        "{p}: filler \"{filler}\" in\n{text}"
                    );
                }
            }
        }
    }

    #[test]
    fn variations_differ_from_each_other() {
        let fr = brief(
            "Chaussures de trail",
            "Semelle adhérente, retours gratuits, légères",
            "les coureurs des montagnes",
            "chaussures trail",
        );
        for p in Platform::ALL {
            let d = offline(&fr, p);
            assert_eq!(d.len(), 3);
            let distinct: HashSet<String> = d.iter().map(all_text).collect();
            assert_eq!(distinct.len(), 3, "{p}: {d:?}");
        }
    }
}
