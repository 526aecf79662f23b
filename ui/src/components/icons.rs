//! Small inline SVG icons (24×24, stroked with `currentColor`; see `.icon`
//! in style.css). Inline so the app needs no image files or icon font, and
//! `aria-hidden` because every icon sits next to a text label.

use leptos::prelude::*;

/// Which icon to draw.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Icon {
    Home,
    IdCard,
    Landmark,
    Clipboard,
    Plus,
    Sync,
    Alert,
    Check,
    Clock,
    Globe,
    ArrowLeft,
    ArrowRight,
    Shield,
    File,
    Qr,
    Scan,
}

/// The `d` of each icon's path(s).
fn path(icon: Icon) -> &'static str {
    match icon {
        Icon::Home => "M3 10.5 12 3l9 7.5M5 9.5V20a1 1 0 0 0 1 1h4v-6h4v6h4a1 1 0 0 0 1-1V9.5",
        Icon::IdCard => "M3 5h18a1 1 0 0 1 1 1v12a1 1 0 0 1-1 1H3a1 1 0 0 1-1-1V6a1 1 0 0 1 1-1zM8.5 12.5a2.25 2.25 0 1 0 0-4.5 2.25 2.25 0 0 0 0 4.5zM5 16.5c.6-1.8 2-2.5 3.5-2.5s2.9.7 3.5 2.5M14.5 9.5H19M14.5 13H19",
        Icon::Landmark => "M3 21h18M4 10h16M12 3 3.5 8h17L12 3zM6 10v8M10 10v8M14 10v8M18 10v8",
        Icon::Clipboard => "M9 4h6v3H9zM9 5.5H6a1 1 0 0 0-1 1V20a1 1 0 0 0 1 1h12a1 1 0 0 0 1-1V6.5a1 1 0 0 0-1-1h-3M8.5 12h7M8.5 16h5",
        Icon::Plus => "M12 5v14M5 12h14",
        Icon::Sync => "M20 12a8 8 0 0 1-14 5.3M4 12a8 8 0 0 1 14-5.3M18 3v4h-4M6 21v-4h4",
        Icon::Alert => "M12 3 2 20h20L12 3zM12 10v4.5M12 17.5v.01",
        Icon::Check => "M4.5 12.5 9.5 17.5 19.5 7",
        Icon::Clock => "M12 21a9 9 0 1 0 0-18 9 9 0 0 0 0 18zM12 7.5V12l3 2",
        Icon::Globe => "M12 21a9 9 0 1 0 0-18 9 9 0 0 0 0 18zM3 12h18M12 3c2.5 2.7 3.5 5.6 3.5 9s-1 6.3-3.5 9c-2.5-2.7-3.5-5.6-3.5-9s1-6.3 3.5-9z",
        Icon::ArrowLeft => "M19 12H5M11 6l-6 6 6 6",
        Icon::ArrowRight => "M5 12h14M13 6l6 6-6 6",
        Icon::Shield => "M12 3 4.5 6v5.5c0 4.5 3.2 8.3 7.5 9.5 4.3-1.2 7.5-5 7.5-9.5V6L12 3zM8.5 12l2.5 2.5 4.5-5",
        Icon::File => "M14 3H6.5a1 1 0 0 0-1 1v16a1 1 0 0 0 1 1h11a1 1 0 0 0 1-1V7.5L14 3zM14 3v4.5h4.5M9 13h6M9 17h6",
        Icon::Qr => "M4 4h6v6H4zM14 4h6v6h-6zM4 14h6v6H4zM14 14h2v2h-2zM18 14h2v2h-2zM14 18h2v2h-2zM18 18h2v2h-2zM16 16h2v2h-2z",
        Icon::Scan => "M3 8V4.5A1.5 1.5 0 0 1 4.5 3H8M16 3h3.5A1.5 1.5 0 0 1 21 4.5V8M21 16v3.5a1.5 1.5 0 0 1-1.5 1.5H16M8 21H4.5A1.5 1.5 0 0 1 3 19.5V16M3 12h18",
    }
}

/// An inline SVG icon.
pub fn icon(which: Icon) -> impl IntoView {
    view! {
        <svg class="icon" viewBox="0 0 24 24" aria-hidden="true" focusable="false">
            <path d=path(which)></path>
        </svg>
    }
}
