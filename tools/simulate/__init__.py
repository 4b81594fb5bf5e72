"""An upstream that behaves as Marketo's direct push and Adobe I/O Events do (docs/protocol.md).

The folders draw the flow::

    catalog, events  what is sent (pure)          tenants   who sends it
    schedule         when, and what after a reply (pure policies)
    direct_push      one push subscription        adobe_io  one webhook registration
    signing          Adobe's two key pairs and key server
    http             the HTTP client and push credentials
    stats            counters, the acknowledged-id log, progress and summary
    run              ``Simulator``: generation → outlets → drain → summary
    cli              ``datastreams simulate``
"""
