"""Words people post: the brand's product posts, shoppers' trigger replies, and everyday
noise, including the near misses (#carts, #cartoon, "McCartney") that fool a naive needle."""

from __future__ import annotations

# The brand's posts; `{link}` is a product link, `{title}` its product's title.
BRAND_ONE = (
    "Fresh roast Monday ☕ {title} is back on the shelf, roasted this morning. {link} #coffee",
    "Camp mornings hit different with the {title}. {link} Reply #cart and it's in your cart.",
    "New drop: {title}. Small batch, won't last long → {link} #coffee #roastday",
    "Restocked! {title} {link} — reply #cart to grab one, #wishlist to save it for later.",
    "Packing list for the weekend: headlamp, layers, and {title} 🏕️ {link}",
    "Our team's favourite this month: {title}. Notes of cocoa & dried cherry. {link}",
)
BRAND_TWO = (
    # Only for the camp mug and the dripper: its words name them (the demo script's post).
    "Camp kit 🏕️ the mug {link1} + the dripper {link2}. Reply #cart 1 or #cart 2",
    "The camp kit 🏕️ {title1} {link1} + {title2} {link2} — reply #cart 1 or #cart 2.",
    "Two new things this week: {title1} ({link1}) and {title2} ({link2}). #coffee",
)
# Two-product posts that fit any two products in stock.
BRAND_TWO_ANY = BRAND_TWO[1:]
# A post says what it shows (issue 14): a product out of stock is not "restocked" or "back
# on the shelf", and one on pre-order is announced as a pre-order.
BRAND_SOLD_OUT = (
    "Sold out for now: {title} {link} — reply #wishlist and we'll tell you when it's back.",
    "{title} flew off the shelf 🏃 Reply #wishlist to save it for the restock. {link}",
)
BRAND_PREORDER = (
    "Pre-order open: {title} {link} — reply #cart to reserve yours.",
    "Coming soon, and you can pre-order now: {title}. {link} #coffee",
)


def brand_one_for(availability: str) -> tuple[str, ...]:
    """The one-product brand posts that fit a product of `availability`."""
    if availability == "out_of_stock":
        return BRAND_SOLD_OUT
    if availability == "preorder":
        return BRAND_PREORDER
    return BRAND_ONE


BRAND_PLAIN = (
    "Find us at the Saturday farmers market, stall 14! Free samples of the new roast 📍",
    "Roastery is closed Monday for maintenance. Orders ship Tuesday as usual.",
    "Trail report: Tumalo Falls was gorgeous this morning. Coffee tasted better up there. "
    "#pnw #hiking",
    "We're hiring a part-time roaster in Bend! Details: https://jobs.example/trailhead-coffee",
)

# Trigger replies; `{tag}` is the trigger hashtag with its hash.
TRIGGERS = (
    "{tag}",
    "{tag} ☕",
    "Need this. {tag}",
    "{tag} please!",
    "ooh yes {tag}",
    "{tag} 🙌",
    "this is the one {tag}",
    "{tag} — perfect for the trip next week",
)
TRIGGER_TAGS = ("#cart", "#cart", "#cart", "#Cart", "#CART", "#cart")

# Everyday posts. None is a trigger; several carry tags or words that contain "cart".
NOISE = (
    "Sunrise on the ridge this morning. Worth the 4am alarm. #hiking #pnw",
    "Does anyone else keep a spreadsheet of every trail they've done? Asking for me.",
    "New blog post: what I learned thru-hiking the Colorado Trail "
    "https://mayaruns.example/blog/colorado-trail-lessons",
    "Watched the Paul McCartney documentary last night — what a career.",
    "Drew this little fox for my niece #art #illustration",
    "Saturday morning #cartoon marathon with the kids, coffee in hand ☕",
    "Farmers market haul: peaches, sourdough & way too many tomatoes 🍑🍅",
    "The shopping #carts at this store all pull left and I'm taking it personally",
    "Making a list of #wishes for the new year: more trails, fewer meetings.",
    "The botanic gardens are incredible right now https://www.botanicgardens.example/visit",
    "Hot take: pour-over is just meditation with caffeine",
    "Rain again. Perfect day to reorganise the gear closet 🌧️",
    "My #cartography class has me seeing contour lines everywhere",
    "Just finished 'The Overstory'. Still thinking about it. #books",
    "Tried the new café on Alberta St — the cortado was perfect. 10/10",
    "Perseids peak this week! Get away from city lights ✨ #astronomy",
    "Anyone have recs for a lightweight 2-person tent under $300?",
    "日曜日の朝はコーヒーと散歩。#coffee",
    "Café con leche y un paseo por la playa. Buenos días ☀️",
    "Kids asked why the moon follows the car. I said 'it likes us'. Parenting.",
    "PSA: check your headlamp batteries before the trip, not at the trailhead 🔦",
    "The golf cart parade at the retirement community is the best thing I've seen all week",
    "Pushing a cart full of groceries uphill in this wind is a workout nobody asked for",
    "Spotted a pileated woodpecker on my run!! #birding",
    "Q3 planning doc is 47 pages. Send help. And coffee.",
    '"Descartes walks into a bar" jokes are the only philosophy I remember',
    "Weekend plan: <nothing> & I love it",
    "Printer out of ink cartridges again, on the one day I need a boarding pass",
    "Museum day: the #art deco posters upstairs are unreal https://museum.example/exhibits/deco",
    "Wearing my dad's old Cartier watch to the wedding. Feeling fancy.",
    "Anyone else's sourdough starter sulking in the cold? Mine's on strike.",
    "Ran 18 km today, longest since the injury 💪 #running",
    "Trying to get into film photography. Why is everything so expensive now",
    "Sketchbook page from the train #art #urbansketchers",
    "Birthday #wishes to my favourite climbing partner 🎂🧗",
    "Mapped my whole neighbourhood's coffee spots. Yes, it's a problem. ☕🗺️",
    "Grocery cart tetris at the self-checkout, level: expert",
    "Is it cold brew season yet? Asking the weather.",
    "First snow on the peaks! ❄️ #pnw",
    "Watching the 'Cartoon Saloon' films back to back. Wolfwalkers is perfect.",
    "Bookmarking this for later: https://gearreviews.example/best-stoves-2024",
    "Our street's free little library got a new roof 📚",
    "Re-reading Le Guin and remembering why I fell in love with books",
    "Café hopping in Lisbon: pastéis de nata count is now 4. Not stopping.",
    "The dog learned to open the treat drawer. We live in his house now. 🐕",
)
