package dev.loupe.engine.worker;

import java.io.IOException;

/** An example that is malformed or points to an image that is not there: the message says which and why. */
public class ExampleFormatException extends IOException {
    private static final long serialVersionUID = 1L;

    public ExampleFormatException(String message) {
        super(message);
    }

    public ExampleFormatException(String message, Throwable cause) {
        super(message, cause);
    }
}
