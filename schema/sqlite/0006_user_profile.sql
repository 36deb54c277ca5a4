-- What a user says about themselves (GET/PATCH /v1/me): where to reach them and the
-- language texts to them are written in. Numbered apart from the tokens migration
-- written alongside it, so the two never claim one version.
ALTER TABLE users ADD COLUMN email TEXT;
ALTER TABLE users ADD COLUMN locale TEXT NOT NULL DEFAULT 'en';
