package cluster

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
)

// adminRequest is the subset of the tikvsim admin API's JSON body that the
// fault hooks use (see tikvsim.AdminHandler).
type adminRequest struct {
	Store uint64 `json:"store,omitempty"`
	Index int    `json:"index,omitempty"`
}

// adminClient calls the admin HTTP endpoint of a tikvsim binary running in a
// container. It owns its transport so Close leaves no idle connection (and
// no goroutine) behind.
type adminClient struct {
	base string
	tr   *http.Transport
	hc   *http.Client
}

func newAdminClient(addr string) *adminClient {
	tr := &http.Transport{}
	return &adminClient{base: "http://" + addr, tr: tr, hc: &http.Client{Transport: tr}}
}

func (a *adminClient) get(ctx context.Context, path string, out any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, a.base+path, nil)
	if err != nil {
		return err
	}
	return a.do(req, out)
}

func (a *adminClient) post(ctx context.Context, path string, in adminRequest, out any) error {
	body, err := json.Marshal(in)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, a.base+path, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	return a.do(req, out)
}

func (a *adminClient) do(req *http.Request, out any) error {
	resp, err := a.hc.Do(req)
	if err != nil {
		return fmt.Errorf("tikvsim admin %s %s: %w", req.Method, req.URL.Path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return fmt.Errorf("tikvsim admin %s %s: %w", req.Method, req.URL.Path, err)
	}
	if resp.StatusCode != http.StatusOK {
		var e struct {
			Error string `json:"error"`
		}
		_ = json.Unmarshal(data, &e)
		if e.Error == "" {
			e.Error = string(bytes.TrimSpace(data))
		}
		return fmt.Errorf("tikvsim admin %s %s: %s: %s", req.Method, req.URL.Path, resp.Status, e.Error)
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			return fmt.Errorf("tikvsim admin %s %s: decode: %w", req.Method, req.URL.Path, err)
		}
	}
	return nil
}

func (a *adminClient) close() { a.tr.CloseIdleConnections() }
