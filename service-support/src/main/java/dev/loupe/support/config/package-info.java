/** Configuration shared by every service; each service adds its own {@code @ConfigMapping} beside it. */
package dev.loupe.support.config;
