package dev.loupe.support.rest;

import java.util.UUID;
import java.util.stream.Collectors;

import jakarta.ws.rs.WebApplicationException;
import jakarta.ws.rs.core.HttpHeaders;
import jakarta.ws.rs.core.MediaType;

import com.fasterxml.jackson.core.JsonParseException;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonMappingException;
import com.fasterxml.jackson.databind.exc.InvalidFormatException;
import com.fasterxml.jackson.databind.exc.MismatchedInputException;
import com.fasterxml.jackson.databind.exc.UnrecognizedPropertyException;
import io.grpc.StatusRuntimeException;
import org.jboss.logging.Logger;
import org.jboss.resteasy.reactive.RestResponse;
import org.jboss.resteasy.reactive.server.ServerExceptionMapper;

import dev.loupe.support.error.GrpcProblems;
import dev.loupe.support.error.Problem;
import dev.loupe.support.error.ProblemException;
import dev.loupe.support.error.ProblemType;

/**
 * The REST half of the error family: every exception leaves as {@code application/problem+json}. Unexpected
 * exceptions are logged here with an error id and answered with that id only: no message, class name or
 * stack trace leaves the process.
 */
public class ProblemMappers {
    private static final Logger LOG = Logger.getLogger(ProblemMappers.class);
    private static final MediaType PROBLEM_JSON = MediaType.valueOf(Problem.MEDIA_TYPE);

    @ServerExceptionMapper
    public RestResponse<Problem> problem(ProblemException e, HttpHeaders headers) {
        return respond(e.type(), e.detail(), e.field().orElse(null), headers);
    }

    @ServerExceptionMapper
    public RestResponse<Problem> grpcStatus(StatusRuntimeException e, HttpHeaders headers) {
        ProblemException problem = GrpcProblems.fromStatus(e);
        if (problem.type() == ProblemType.INTERNAL) {
            LOG.errorf("Downstream call failed with %s", e.getStatus());
        }
        return problem(problem, headers);
    }

    // Listed one by one: Quarkus's own mappers for the Jackson subtypes would otherwise win over a mapper of
    // their common parent, and answer with plain JSON.
    @ServerExceptionMapper({JsonProcessingException.class, JsonParseException.class, MismatchedInputException.class,
            UnrecognizedPropertyException.class, InvalidFormatException.class})
    public RestResponse<Problem> unreadableJson(JsonProcessingException e, HttpHeaders headers) {
        String field = null;
        if (e instanceof JsonMappingException mapping && !mapping.getPath().isEmpty()) {
            field = mapping.getPath()
                    .stream()
                    .map(ref -> ref.getFieldName() != null ? ref.getFieldName() : "[" + ref.getIndex() + "]")
                    .collect(Collectors.joining("."))
                    .replace(".[", "[");
        }
        String detail = field == null
                ? "the body is not valid JSON for this request"
                : "field '" + field + "' is unknown or has the wrong type";
        return respond(ProblemType.INVALID_REQUEST, detail, field, headers);
    }

    @ServerExceptionMapper
    public RestResponse<Problem> web(WebApplicationException e, HttpHeaders headers) {
        int status = e.getResponse().getStatus();
        if (status >= 500) {
            return unexpected(e, headers);
        }
        ProblemType type = ProblemType.forHttpStatus(status);
        return respond(type, type.title(), null, headers);
    }

    @ServerExceptionMapper
    public RestResponse<Problem> unexpected(Throwable e, HttpHeaders headers) {
        String errorId = UUID.randomUUID().toString();
        LOG.errorf(e, "Unexpected error %s", errorId);
        return respond(ProblemType.INTERNAL, "unexpected error; quote error id " + errorId + " to your operator",
                null, headers);
    }

    /** A problem+json response; the one way Loupe's REST layers answer an error. */
    public static RestResponse<Problem> respond(ProblemType type, String detail, String field, HttpHeaders headers) {
        RestResponse.ResponseBuilder<Problem> builder = RestResponse.ResponseBuilder.<Problem>create(type.httpStatus())
                .entity(Problem.of(type, detail, field, requestId(headers)))
                .type(PROBLEM_JSON);
        if (type == ProblemType.UNAUTHENTICATED) {
            builder.header(HttpHeaders.WWW_AUTHENTICATE, "Bearer realm=\"loupe\"");
        }
        if (type == ProblemType.RATE_LIMITED) {
            // Overload is brief by design (bounded queues): a client may come back after a second.
            builder.header(HttpHeaders.RETRY_AFTER, "1");
        }
        return builder.build();
    }

    private static String requestId(HttpHeaders headers) {
        return headers == null ? null : headers.getHeaderString("X-Request-Id");
    }
}
