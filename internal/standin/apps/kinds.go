package apps

// kindSpec is what sets one application kind apart from the others: the
// tables and directories that its app-specific migration rules act on.
type kindSpec struct {
	// tables are created next to the common posts and accounts.
	tables []string
	// mediaDir, when set, is a second file store under the state dir with
	// its own routes (Synapse's local_content).
	mediaDir   string
	mediaRoute string // the media store's URL path, e.g. /_matrix/media
}

var kinds = map[string]kindSpec{
	"mastodon":  {},
	"pixelfed":  {},
	"nextcloud": {},
	"immich":    {},
	"matrix": {
		// Synapse's one-time keys must be truncated after a restore: clients
		// would otherwise reuse keys that were already handed out.
		tables: []string{`CREATE TABLE IF NOT EXISTS e2e_one_time_keys_json (
			user_id text NOT NULL, key_id text NOT NULL, key_json text NOT NULL)`},
		mediaDir:   "local_content",
		mediaRoute: "/_matrix/media",
	},
	"peertube": {
		// PeerTube stores object-storage URLs in its database; a move to other
		// storage rewrites them.
		tables: []string{`CREATE TABLE IF NOT EXISTS video_files (
			id bigserial PRIMARY KEY, url text NOT NULL)`},
	},
}

// Kinds lists the application kinds the stand-in serves.
func Kinds() []string { return sortedKeys(kinds) }
