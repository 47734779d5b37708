package dev.loupe.support.error;

import java.net.URI;

import com.fasterxml.jackson.annotation.JsonInclude;

/**
 * An RFC 9457 problem details body ({@code application/problem+json}), with Loupe's extension members:
 * {@code field}, the request field at fault, and {@code request_id}, to find the request in logs and audit.
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record Problem(URI type, String title, int status, String detail, String field,
        @com.fasterxml.jackson.annotation.JsonProperty("request_id") String requestId) {

    public static final String MEDIA_TYPE = "application/problem+json";

    public static Problem of(ProblemType type, String detail, String field, String requestId) {
        return new Problem(type.uri(), type.title(), type.httpStatus(), detail, field, requestId);
    }
}
