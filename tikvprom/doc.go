// Package tikvprom owns the optional Prometheus adapter of tikvgo: it turns
// the hooks and Stats of the client modules into Prometheus metrics on a
// Registerer the caller supplies. Nothing is registered globally.
//
// Library modules never import it; a user who wants Prometheus metrics builds
// it and hands it to the facade.
package tikvprom
