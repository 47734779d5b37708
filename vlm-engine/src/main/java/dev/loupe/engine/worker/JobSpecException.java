package dev.loupe.engine.worker;

/**
 * A job the worker cannot run as specified: a value of the spec out of its range, a key it does not know, or an
 * input the spec points to that is missing or malformed (the base model, an example). The message names the field
 * and says what would be accepted, in words a user can act on; the worker exits with code 2.
 */
public class JobSpecException extends IllegalArgumentException {
    private static final long serialVersionUID = 1L;

    private final String field;

    /**
     * @param field the spec's key at fault, dotted for nested ones, e.g. {@code hyperparameters.learning_rate}
     * @param message the whole message, naming the field
     */
    public JobSpecException(String field, String message) {
        super(message);
        this.field = field;
    }

    public JobSpecException(String field, String message, Throwable cause) {
        super(message, cause);
        this.field = field;
    }

    public String field() {
        return field;
    }
}
