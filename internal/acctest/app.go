package acctest

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"
)

// AppHealth is what an application's health endpoint says about it.
type AppHealth struct {
	Kind    string `json:"kind"`
	Version string `json:"version"`
	Domain  string `json:"domain"`
	Status  string `json:"status"`
}

// AskApp asks the application for domain over HTTP at address (a runtime's
// address), as a browser would once DNS names that address.
func AskApp(address, domain string) (AppHealth, error) {
	var health AppHealth
	req, err := http.NewRequest(http.MethodGet, "http://"+address+"/.well-known/fediversity/health", nil)
	if err != nil {
		return health, err
	}
	req.Host = domain
	client := http.Client{Timeout: 10 * time.Second}
	resp, err := client.Do(req)
	if err != nil {
		return health, fmt.Errorf("asking %s at %s: %w", domain, address, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return health, fmt.Errorf("%s at %s answered %s: %s", domain, address, resp.Status, body)
	}
	if err := json.NewDecoder(resp.Body).Decode(&health); err != nil {
		return health, fmt.Errorf("%s at %s: %w", domain, address, err)
	}
	return health, nil
}
