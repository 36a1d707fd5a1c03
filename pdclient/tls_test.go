package pdclient_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/tikvgo/tikvgo/pdclient"
)

type testPKI struct {
	caPEM      []byte
	caPool     *x509.CertPool
	server     tls.Certificate
	clientCert string // path
	clientKey  string // path
	caPath     string
}

func writePEM(t *testing.T, path, typ string, der []byte) {
	t.Helper()
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
}

func newTestPKI(t *testing.T) *testPKI {
	t.Helper()
	dir := t.TempDir()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caCert, _ := x509.ParseCertificate(caDER)
	p := &testPKI{caPool: x509.NewCertPool(), caPath: filepath.Join(dir, "ca.pem")}
	p.caPool.AddCert(caCert)
	writePEM(t, p.caPath, "CERTIFICATE", caDER)

	leaf := func(serial int64, usage x509.ExtKeyUsage) ([]byte, *ecdsa.PrivateKey) {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: "leaf"},
			NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
			ExtKeyUsage: []x509.ExtKeyUsage{usage}, KeyUsage: x509.KeyUsageDigitalSignature,
			IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, &key.PublicKey, caKey)
		if err != nil {
			t.Fatal(err)
		}
		return der, key
	}
	sDER, sKey := leaf(2, x509.ExtKeyUsageServerAuth)
	p.server = tls.Certificate{Certificate: [][]byte{sDER}, PrivateKey: sKey}
	cDER, cKey := leaf(3, x509.ExtKeyUsageClientAuth)
	p.clientCert, p.clientKey = filepath.Join(dir, "client.pem"), filepath.Join(dir, "client-key.pem")
	writePEM(t, p.clientCert, "CERTIFICATE", cDER)
	keyDER, err := x509.MarshalECPrivateKey(cKey)
	if err != nil {
		t.Fatal(err)
	}
	writePEM(t, p.clientKey, "EC PRIVATE KEY", keyDER)
	return p
}

func TestMutualTLS(t *testing.T) {
	pki := newTestPKI(t)
	c := newFakeCluster(t, 1, &tls.Config{
		Certificates: []tls.Certificate{pki.server},
		ClientCAs:    pki.caPool,
		ClientAuth:   tls.RequireAndVerifyClientCert,
		MinVersion:   tls.VersionTLS12,
	})
	c.addRegion(1, nil, nil, 1)
	cfg, err := pdclient.LoadTLSConfig(pki.caPath, pki.clientCert, pki.clientKey)
	if err != nil {
		t.Fatal(err)
	}
	cli := newClient(t, c, pdclient.WithTLS(cfg))
	if r, err := cli.GetRegion(t.Context(), []byte("a")); err != nil || r.Meta.Id != 1 {
		t.Fatalf("GetRegion over mTLS: %v, %v", r, err)
	}
}

func TestLoadTLSConfigErrors(t *testing.T) {
	t.Parallel()
	pki := newTestPKI(t)
	bad := filepath.Join(t.TempDir(), "bad.pem")
	if err := os.WriteFile(bad, []byte("not pem"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name            string
		ca, cert, key   string
		wantInvalidArgs bool
	}{
		{"missingCA", filepath.Join(t.TempDir(), "nope.pem"), "", "", false},
		{"garbageCA", bad, "", "", true},
		{"certWithoutKey", pki.caPath, pki.clientCert, "", true},
		{"badKeyPair", pki.caPath, pki.clientCert, bad, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := pdclient.LoadTLSConfig(tc.ca, tc.cert, tc.key)
			if err == nil {
				t.Fatal("no error")
			}
			if errors.Is(err, pdclient.ErrInvalidOption) != tc.wantInvalidArgs {
				t.Fatalf("err = %v", err)
			}
		})
	}
	cfg, err := pdclient.LoadTLSConfig(pki.caPath, "", "")
	if err != nil || cfg.RootCAs == nil || len(cfg.Certificates) != 0 {
		t.Fatalf("CA only: %v, %v", cfg, err)
	}
}
