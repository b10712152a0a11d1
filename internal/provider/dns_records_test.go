package provider

import "testing"

func TestAddressRecord(t *testing.T) {
	for address, want := range map[string]dnsRecord{
		"192.0.2.10":     {Name: "social.club.example", Type: "A", Value: "192.0.2.10", TTL: dnsTTL},
		"2001:db8::10":   {Name: "social.club.example", Type: "AAAA", Value: "2001:db8::10", TTL: dnsTTL},
		"web1.hoster.nl": {Name: "social.club.example", Type: "CNAME", Value: "web1.hoster.nl.", TTL: dnsTTL},
	} {
		if got := addressRecord("social.club.example", address); got != want {
			t.Errorf("%s: got %+v, want %+v", address, got, want)
		}
	}
}

func TestMailRecords(t *testing.T) {
	records := mailRecords("club.example", "192.0.2.10", "MIIBIjAN", "board@club.example")
	want := []dnsRecord{
		{Name: "mail.club.example", Type: "A", Value: "192.0.2.10", TTL: dnsTTL},
		{Name: "club.example", Type: "MX", Value: "10 mail.club.example.", TTL: dnsTTL},
		{Name: "club.example", Type: "TXT", Value: "v=spf1 mx -all", TTL: dnsTTL},
		{Name: "default._domainkey.club.example", Type: "TXT", Value: "v=DKIM1; k=rsa; p=MIIBIjAN", TTL: dnsTTL},
		{Name: "_dmarc.club.example", Type: "TXT", Value: "v=DMARC1; p=quarantine; rua=mailto:board@club.example", TTL: dnsTTL},
	}
	for i := range want {
		if records[i] != want[i] {
			t.Errorf("record %d: got %+v, want %+v", i, records[i], want[i])
		}
	}
}

func TestPEMBody(t *testing.T) {
	body, err := pemBody("-----BEGIN PUBLIC KEY-----\nMIIBIjAN\nBgkqhkiG\n-----END PUBLIC KEY-----\n")
	if err != nil || body != "MIIBIjANBgkqhkiG" {
		t.Fatalf("%q %v", body, err)
	}
	if _, err := pemBody("-----BEGIN X-----\n-----END X-----"); err == nil {
		t.Fatal("empty key accepted")
	}
}

// The health gate checks every application a system runs, at its domain.
func TestDeployedApps(t *testing.T) {
	apps := deployedApps(map[string][]byte{
		"runtime.json":                      []byte(`{"name":"web"}`),
		"operator-club.json":                []byte(`{"name":"club","domain":"club.example"}`),
		"application-club-mastodon.json":    []byte(`{"operator":"club","kind":"mastodon","subdomain":"social"}`),
		"application-club-matrix.json":      []byte(`{"operator":"club","kind":"matrix","subdomain":"chat"}`),
		"application-club-broken-json.json": []byte(`{`),
	})
	want := []deployedApp{{kind: "matrix", domain: "chat.club.example"}, {kind: "mastodon", domain: "social.club.example"}}
	if len(apps) != 2 || apps[0] != want[0] || apps[1] != want[1] {
		t.Fatalf("got %+v, want %+v", apps, want)
	}
}
