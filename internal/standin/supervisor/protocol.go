package supervisor

// The control protocol: one JSON object per line each way, over the Unix
// socket. A connection may carry several requests, answered in order.
//
//	{"op":"status"}                          -> {"ok":true,"units":[...]}
//	{"op":"start","unit":{...units.json...}} -> {"ok":true}
//	{"op":"stop","name":"x","remove":true}   -> {"ok":true} once x is down
//	{"op":"restart","name":"x","unit":{...}} -> {"ok":true}
//	{"op":"shutdown"}                        -> {"ok":true} once all are down; the daemon exits
//
// A failed request answers {"ok":false,"error":"..."}.

// Request is one line from a client.
type Request struct {
	Op     string `json:"op"`
	Name   string `json:"name,omitempty"`
	Unit   *Unit  `json:"unit,omitempty"`
	Remove bool   `json:"remove,omitempty"`
}

// Response is the daemon's answer to one request.
type Response struct {
	OK    bool         `json:"ok"`
	Error string       `json:"error,omitempty"`
	Units []UnitStatus `json:"units,omitempty"`
}

// Protocol operations.
const (
	OpStatus   = "status"
	OpStart    = "start"
	OpStop     = "stop"
	OpRestart  = "restart"
	OpShutdown = "shutdown"
)

// maxRequestSize bounds one request line (a unit with its environment).
const maxRequestSize = 4 << 20
