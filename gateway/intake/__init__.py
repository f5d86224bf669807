"""What the web form, the mobile-app API and Open311 share: filing a complaint from a submission, photos,
kelurahan, categories, API keys, the rate limiter and the public view of a ticket."""
