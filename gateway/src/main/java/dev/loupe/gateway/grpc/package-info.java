/** How the gateway calls the services behind it. */
package dev.loupe.gateway.grpc;
