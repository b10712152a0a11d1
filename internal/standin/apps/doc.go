// Package apps is the stand-in for the fediverse applications and the mail
// server that the provider deploys: one small program that behaves, where
// the provider and migrations can tell, as the real ones do. It keeps posts
// and accounts in its real PostgreSQL database and uploads as files in its
// state dir, refuses to start without its secrets or with other secrets than
// its database was initialised with, and answers only for its own domain
// (421 Misdirected Request for any other Host).
//
// Run serves one application from a Config:
//
//	GET  /.well-known/fediversity/health  kind, version, domain, status, posts, uploads (503 without database)
//	GET  the kind's health path in the catalogue (/health, /status.php, ...)  the same
//	POST /api/posts {"author","body"}     201 {"id"}
//	GET  /api/posts, /api/posts/{id}      in id order
//	POST /api/accounts {"name"}           201; 403 registrations closed; 409 user limit or name taken
//	GET  /api/accounts
//	PUT  /api/uploads/{name}              streamed to state_dir/uploads/{name}, atomically
//	GET  /api/uploads/{name}, /api/uploads  the file; [{"name","size","sha256"}] by name
//	PUT/GET /_matrix/media/{name}, GET /_matrix/media  (matrix) the same, in state_dir/local_content
//
// Its database holds posts, accounts, standin_meta (kind and secrets
// fingerprint) and per kind the tables that migration rules act on
// (matrix: e2e_one_time_keys_json; peertube: video_files).
//
// RunMail serves the mail domains of a system's operators from a
// MailConfig: SMTP in (recipients in those domains only) to a Maildir,
// <maildir>/<domain>/<localpart>/new/<id>, and over HTTP, for the domain
// the Host names (<domain> or mail.<domain>), the health check,
// GET /api/mailboxes/{localpart} as [{"id","size","sha256"}] and
// GET /api/mailboxes/{localpart}/{id} raw.
package apps
