package apps

import (
	"context"
	"net/http"
	"time"
)

// healthTimeout bounds the database check, so that a hung database makes
// the health check fail rather than hang.
const healthTimeout = 2 * time.Second

type appHealth struct {
	Kind    string `json:"kind"`
	Version string `json:"version"`
	Domain  string `json:"domain"`
	Status  string `json:"status"`
	Reason  string `json:"reason,omitempty"`
	Posts   int64  `json:"posts"`
	Uploads int    `json:"uploads"`
}

// health is what the provider's activation gate asks: kind and version to
// prove the right app runs, counts to let migrations compare at a glance.
func (a *App) health(w http.ResponseWriter, r *http.Request) {
	report := appHealth{Kind: a.cfg.Kind, Version: a.cfg.Version, Domain: a.cfg.Domain, Status: "ok"}
	if _, unhealthy := injectedFault(a.cfg.Kind, a.cfg.Version); unhealthy {
		writeUnhealthy(w, report, "a fault is injected in "+FaultsFile)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), healthTimeout)
	defer cancel()
	err := a.db.QueryRow(ctx, "SELECT count(*) FROM posts").Scan(&report.Posts)
	if err != nil {
		writeUnhealthy(w, report, "database: "+err.Error())
		return
	}
	if report.Uploads, err = a.uploads.count(); err != nil {
		writeUnhealthy(w, report, "state dir: "+err.Error())
		return
	}
	writeJSON(w, http.StatusOK, report)
}

func writeUnhealthy(w http.ResponseWriter, report appHealth, reason string) {
	report.Status, report.Reason = "unhealthy", reason
	writeJSON(w, http.StatusServiceUnavailable, report)
}
