package dev.loupe.dataset.storage;

/** An upload stream that breaks the import protocol or its limits; nothing of it is kept. */
public class UploadRefusedException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    private final String field;

    public UploadRefusedException(String field, String message) {
        super(message);
        this.field = field;
    }

    /** The field of the stream at fault, for the error answer. */
    public String field() {
        return field;
    }
}
