package dev.loupe.engine.checkpoint;

import java.io.IOException;

/** A checkpoint file that does not follow the format it claims: the message names the file and what is wrong. */
public class CheckpointFormatException extends IOException {
    private static final long serialVersionUID = 1L;

    public CheckpointFormatException(String message) {
        super(message);
    }

    public CheckpointFormatException(String message, Throwable cause) {
        super(message, cause);
    }
}
