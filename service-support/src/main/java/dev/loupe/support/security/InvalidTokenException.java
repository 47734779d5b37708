package dev.loupe.support.security;

/** A bearer token that is missing, malformed, expired, from another issuer or not signed by it. */
public class InvalidTokenException extends Exception {
    private static final long serialVersionUID = 1L;

    public InvalidTokenException(String message) {
        super(message);
    }

    public InvalidTokenException(String message, Throwable cause) {
        super(message, cause);
    }
}
