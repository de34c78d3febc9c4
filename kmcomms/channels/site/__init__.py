"""The static site that the local channels publish to: blog posts (`static-site`), the
video library (`video-page`) and policy briefings (`briefing`) in one site, per language.

    site = Site(root, base_url="http://127.0.0.1:8760", title="HPRU in Vaccines",
                about=About(purpose="We study vaccines.", acknowledgement="Funded by the NIHR."))
    url = site.add(Entry(section="posts", key=delivery_id, language="ur", direction="rtl", ...))
    site.find(delivery_id)    # → url, or None
    site.remove(delivery_id)  # → True when it was there

`kmcomms serve` serves the folder on this machine; any web server can serve it elsewhere.
"""
