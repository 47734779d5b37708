package dev.loupe.support.security;

import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

/**
 * The capability a REST route or gRPC method requires. Routes and methods without this annotation are
 * denied: adding one means adding its row to the role matrix.
 */
@Retention(RetentionPolicy.RUNTIME)
@Target(ElementType.METHOD)
public @interface Authorized {
    Capability value();
}
