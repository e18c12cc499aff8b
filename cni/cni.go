package cni

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// DefaultSocket is where the agent serves the plugin.
const DefaultSocket = "/var/run/palisade/cni.sock"

// DefaultTimeout bounds how long ADD waits for the pod's policy.
const DefaultTimeout = 10 * time.Second

// Attachment is one pod interface, as the plugin learned it at ADD.
type Attachment struct {
	ContainerID string `json:"containerID"`
	IfName      string `json:"ifName"`
	Namespace   string `json:"namespace"`
	Pod         string `json:"pod"`
	UID         string `json:"uid,omitempty"`
	// HostInterface is the pod's interface on the host (the veth peer).
	HostInterface string   `json:"hostInterface"`
	IPs           []string `json:"ips,omitempty"`
	// Registered is when the agent took it (set by the agent): of two
	// attachments of one pod, the later one is the pod's.
	Registered time.Time `json:"registered,omitzero"`
}

// Key identifies an attachment: its container ID and interface name.
type Key struct {
	ContainerID string `json:"containerID"`
	IfName      string `json:"ifName"`
}

// Key returns a's key.
func (a Attachment) Key() Key { return Key{a.ContainerID, a.IfName} }

// Workload is the pod's workload key, "namespace/pod".
func (a Attachment) Workload() string { return a.Namespace + "/" + a.Pod }

// Validate reports what is missing for the agent to use a.
func (a Attachment) Validate() error {
	var missing []string
	for _, f := range []struct{ name, v string }{{"containerID", a.ContainerID}, {"ifName", a.IfName},
		{"namespace", a.Namespace}, {"pod", a.Pod}, {"hostInterface", a.HostInterface}} {
		if f.v == "" {
			missing = append(missing, f.name)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("attachment: %s missing", strings.Join(missing, ", "))
	}
	return nil
}

// Backend is what the agent does for the API.
type Backend interface {
	// Add registers a and waits up to wait for its policy to be in the
	// kernel; programmed says whether it got there.
	Add(ctx context.Context, a Attachment, wait time.Duration) (programmed bool, err error)
	// Del forgets an attachment (nothing when unknown).
	Del(k Key)
	// Check says why an attachment is not in force (nil when it is).
	Check(k Key) error
	// Ready says why the agent is not ready (nil when it is).
	Ready() error
	// GC forgets every attachment not in valid.
	GC(valid []Key)
}

type addResponse struct {
	Programmed bool `json:"programmed"`
}

type gcRequest struct {
	Valid []Key `json:"valid"`
}

// Handler serves the API for b.
func Handler(b Backend) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/attachments", func(w http.ResponseWriter, r *http.Request) {
		var a Attachment
		if err := json.NewDecoder(r.Body).Decode(&a); err != nil {
			http.Error(w, "attachment: "+err.Error(), http.StatusBadRequest)
			return
		}
		if err := a.Validate(); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		wait, err := time.ParseDuration(r.URL.Query().Get("wait"))
		if err != nil {
			wait = DefaultTimeout
		}
		ok, err := b.Add(r.Context(), a, wait)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		writeJSON(w, addResponse{Programmed: ok})
	})
	mux.HandleFunc("DELETE /v1/attachments", func(w http.ResponseWriter, r *http.Request) {
		b.Del(keyOf(r))
		w.WriteHeader(http.StatusOK)
	})
	mux.HandleFunc("GET /v1/attachments/check", func(w http.ResponseWriter, r *http.Request) {
		if err := b.Check(keyOf(r)); err != nil {
			http.Error(w, err.Error(), http.StatusConflict)
			return
		}
		w.WriteHeader(http.StatusOK)
	})
	mux.HandleFunc("GET /v1/status", func(w http.ResponseWriter, r *http.Request) {
		if err := b.Ready(); err != nil {
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusOK)
	})
	mux.HandleFunc("POST /v1/gc", func(w http.ResponseWriter, r *http.Request) {
		var req gcRequest
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			http.Error(w, "gc: "+err.Error(), http.StatusBadRequest)
			return
		}
		b.GC(req.Valid)
		w.WriteHeader(http.StatusOK)
	})
	return mux
}

func keyOf(r *http.Request) Key {
	q := r.URL.Query()
	return Key{ContainerID: q.Get("containerID"), IfName: q.Get("ifName")}
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

// UnreachableError says the agent's socket did not answer: the plugin
// fails ADD (the kubelet retries) and STATUS.
type UnreachableError struct{ Err error }

func (e *UnreachableError) Error() string {
	return "the palisade agent is unreachable: " + e.Err.Error()
}

func (e *UnreachableError) Unwrap() error { return e.Err }

// Client calls the agent's API over its unix socket.
type Client struct {
	hc *http.Client
}

// NewClient returns a client of the agent listening on socket.
func NewClient(socket string) *Client {
	return &Client{hc: &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", socket)
		}}}}
}

// Add registers a and waits up to wait for its policy.
func (c *Client) Add(ctx context.Context, a Attachment, wait time.Duration) (bool, error) {
	body, err := json.Marshal(a)
	if err != nil {
		return false, err
	}
	var resp addResponse
	err = c.do(ctx, http.MethodPost, "/v1/attachments?wait="+url.QueryEscape(wait.String()), body, &resp)
	return resp.Programmed, err
}

// Del forgets an attachment.
func (c *Client) Del(ctx context.Context, k Key) error {
	return c.do(ctx, http.MethodDelete, "/v1/attachments?"+query(k), nil, nil)
}

// Check says why an attachment is not in force.
func (c *Client) Check(ctx context.Context, k Key) error {
	return c.do(ctx, http.MethodGet, "/v1/attachments/check?"+query(k), nil, nil)
}

// Status says why the agent is not ready.
func (c *Client) Status(ctx context.Context) error {
	return c.do(ctx, http.MethodGet, "/v1/status", nil, nil)
}

// GC forgets every attachment not in valid.
func (c *Client) GC(ctx context.Context, valid []Key) error {
	body, err := json.Marshal(gcRequest{Valid: valid})
	if err != nil {
		return err
	}
	return c.do(ctx, http.MethodPost, "/v1/gc", body, nil)
}

func query(k Key) string {
	return url.Values{"containerID": {k.ContainerID}, "ifName": {k.IfName}}.Encode()
}

func (c *Client) do(ctx context.Context, method, path string, body []byte, out any) error {
	req, err := http.NewRequestWithContext(ctx, method, "http://palisade-agent"+path, bytes.NewReader(body))
	if err != nil {
		return err
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return &UnreachableError{Err: err}
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return &UnreachableError{Err: err}
	}
	if resp.StatusCode != http.StatusOK {
		return errors.New(strings.TrimSpace(string(data)))
	}
	if out != nil {
		return json.Unmarshal(data, out)
	}
	return nil
}
