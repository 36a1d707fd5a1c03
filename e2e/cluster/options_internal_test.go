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
			name: "api-version by env, case-insensitive",
			env:  map[string]string{EnvAPIVersion: " V1TTL "},
			check: func(t *testing.T, c config) {
				if c.apiVersion != APIV1TTL {
					t.Errorf("apiVersion = %q, want %q", c.apiVersion, APIV1TTL)
				}
			},
		},
		{
			name:    "unknown api-version fails",
			env:     map[string]string{EnvAPIVersion: "v3"},
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

func TestAPIVersionDefaults(t *testing.T) {
	t.Parallel()
	tests := []struct {
		kind Kind
		set  APIVersion
		want APIVersion
	}{
		{KindSim, APIDefault, APIV2},
		{KindContainers, APIDefault, APIV2},
		{KindExternal, APIDefault, APIV1},
		{KindExternal, APIV1TTL, APIV1TTL},
		{KindSim, APIV1, APIV1},
	}
	for _, tt := range tests {
		t.Run(string(tt.kind)+"/"+string(tt.set), func(t *testing.T) {
			t.Parallel()
			c := defaultConfig()
			WithBackend(tt.kind).apply(&c)
			WithAPIVersion(tt.set).apply(&c)
			c.resolveAPIVersion()
			if c.apiVersion != tt.want {
				t.Errorf("resolved api-version = %q, want %q", c.apiVersion, tt.want)
			}
			if got := c.apiVersion.HasTTL(); got != (tt.want != APIV1) {
				t.Errorf("HasTTL() = %v for %q", got, tt.want)
			}
		})
	}
}

func TestOfficialTiKVConfigCarriesAPIVersion(t *testing.T) {
	t.Parallel()
	tests := []struct {
		v    APIVersion
		want []string
		not  []string
	}{
		{APIV1, []string{"[storage]\napi-version = 1\nreserve-space"}, []string{"enable-ttl"}},
		{APIV1TTL, []string{"api-version = 1\nenable-ttl = true\n"}, nil},
		{APIV2, []string{"api-version = 2\nenable-ttl = true\n"}, nil},
	}
	for _, tt := range tests {
		t.Run(string(tt.v), func(t *testing.T) {
			t.Parallel()
			conf := tikvConfigFor(tt.v)
			if n := strings.Count(conf, "[storage]\n"); n != 1 {
				t.Errorf("config has %d [storage] tables, want 1:\n%s", n, conf)
			}
			for _, w := range tt.want {
				if !strings.Contains(conf, w) {
					t.Errorf("config lacks %q:\n%s", w, conf)
				}
			}
			for _, w := range tt.not {
				if strings.Contains(conf, w) {
					t.Errorf("config has %q:\n%s", w, conf)
				}
			}
		})
	}
}
