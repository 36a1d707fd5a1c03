package cluster

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
)

func TestOptionsFromEnv(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		env     map[string]string
		wantErr error
		check   func(t *testing.T, c config)
	}{
		{
			name: "empty environment means in-process sim",
			env:  nil,
			check: func(t *testing.T, c config) {
				if c.kind != KindSim || c.imageMode != ImageAuto || c.pdImage != DefaultPDImage || c.tikvImage != DefaultTiKVImage {
					t.Errorf("config = %+v, want sim backend, auto images, default image names", c)
				}
			},
		},
		{
			name: "containers with local images, case-insensitive",
			env:  map[string]string{EnvBackend: " Containers ", EnvImageMode: "LOCAL"},
			check: func(t *testing.T, c config) {
				if c.kind != KindContainers || c.imageMode != ImageLocal {
					t.Errorf("kind, mode = %q, %q; want containers, local", c.kind, c.imageMode)
				}
			},
		},
		{
			name: "containers with official images named by env",
			env: map[string]string{
				EnvBackend: "containers", EnvImageMode: "official",
				EnvPDImage: "example/pd:v1", EnvTiKVImage: "example/tikv:v1", EnvAdvertiseHost: "192.0.2.7",
			},
			check: func(t *testing.T, c config) {
				if c.imageMode != ImageOfficial || c.pdImage != "example/pd:v1" || c.tikvImage != "example/tikv:v1" || c.advertiseHost != "192.0.2.7" {
					t.Errorf("config = %+v", c)
				}
			},
		},
		{
			name: "external PD_ADDRS are trimmed and scheme-stripped",
			env:  map[string]string{EnvBackend: "external", EnvPDAddrs: " http://10.0.0.1:2379/, ,10.0.0.2:2379 "},
			check: func(t *testing.T, c config) {
				if want := []string{"10.0.0.1:2379", "10.0.0.2:2379"}; !slices.Equal(c.pdAddrs, want) {
					t.Errorf("pdAddrs = %q, want %q", c.pdAddrs, want)
				}
			},
		},
		{
			name:    "external without PD_ADDRS fails",
			env:     map[string]string{EnvBackend: "external", EnvPDAddrs: " , "},
			wantErr: ErrNoPDAddrs,
		},
		{
			name:    "unknown backend fails",
			env:     map[string]string{EnvBackend: "kubernetes"},
			wantErr: ErrUnknownBackend,
		},
		{
			name:    "unknown image mode fails",
			env:     map[string]string{EnvBackend: "containers", EnvImageMode: "remote"},
			wantErr: ErrUnknownBackend,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			opts, err := OptionsFromEnv(func(k string) string { return tt.env[k] })
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("OptionsFromEnv error = %v, want %v", err, tt.wantErr)
			}
			if err != nil {
				return
			}
			c := defaultConfig()
			for _, o := range opts {
				o.apply(&c)
			}
			tt.check(t, c)
		})
	}
}

func TestStartContainersWithoutDockerFailsClearly(t *testing.T) {
	t.Parallel()
	engineDown := errors.New("dial unix /var/run/docker.sock: connect: no such file or directory")
	noDocker := optionFunc(func(c *config) { c.ping = func(context.Context) error { return engineDown } })

	_, err := Start(t.Context(), WithBackend(KindContainers), noDocker)
	if !errors.Is(err, ErrDockerUnavailable) {
		t.Fatalf("Start error = %v, want ErrDockerUnavailable", err)
	}
	for _, want := range []string{"no Docker engine answers", engineDown.Error(), EnvBackend + "=" + string(KindSim)} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
}
