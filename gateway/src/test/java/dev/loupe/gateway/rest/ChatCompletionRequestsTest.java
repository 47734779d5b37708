package dev.loupe.gateway.rest;

import java.util.Map;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;

import dev.loupe.contracts.serving.v1.CompletionRequest;
import dev.loupe.support.error.ProblemException;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** OpenAI chat completion bodies, as the official clients send them, become the serving-service's requests. */
class ChatCompletionRequestsTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    private static JsonNode body(String json) throws Exception {
        return JSON.readTree(json);
    }

    @Test
    void aVisionRequestAsOpenAisClientSendsIt() throws Exception {
        CompletionRequest request = ChatCompletionResource.request(body("""
                {"model": "invoices", "messages": [
                  {"role": "system", "content": "Extract fields."},
                  {"role": "user", "content": [
                    {"type": "text", "text": "What is the total?"},
                    {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo=", "detail": "auto"}}
                  ]}],
                 "max_completion_tokens": 64, "temperature": 0, "top_p": 0.9, "seed": 7, "stop": ["\\n\\n"],
                 "n": 1, "stream": false, "frequency_penalty": 0, "user": "app-1",
                 "response_format": {"type": "json_schema", "json_schema": {"name": "total", "strict": true,
                   "schema": {"type": "object", "properties": {"total": {"type": "number"}}, "required": ["total"]}}}}
                """));
        assertEquals("invoices", request.getDeploymentId());
        assertEquals(2, request.getMessagesCount());
        assertEquals("system", request.getMessages(0).getRole());
        assertEquals("Extract fields.", request.getMessages(0).getContent(0).getText());
        assertEquals("What is the total?", request.getMessages(1).getContent(0).getText());
        assertEquals("data:image/png;base64,iVBORw0KGgo=", request.getMessages(1).getContent(1).getImageUrl());
        assertEquals(64, request.getMaxTokens());
        assertEquals(0, request.getTemperature());
        assertEquals(0.9, request.getTopP());
        assertEquals(7, request.getSeed());
        assertEquals("\n\n", request.getStop(0));
        assertEquals(Map.of("total", Map.of("type", "number")), JSON.convertValue(JSON.readTree(
                request.getJsonSchema()).get("properties"), Map.class));
    }

    @Test
    void unsetSamplingStaysUnsetForTheServiceDefaults() throws Exception {
        CompletionRequest request = ChatCompletionResource.request(body("""
                {"model": "m", "messages": [{"role": "user", "content": "Hi"}], "stop": "END", "max_tokens": null}
                """));
        assertFalse(request.hasTemperature());
        assertFalse(request.hasTopP());
        assertFalse(request.hasMaxTokens());
        assertFalse(request.hasSeed());
        assertEquals("END", request.getStop(0));
        assertTrue(request.getJsonSchema().isEmpty());
    }

    @Test
    void whatLoupeDoesNotDoIsRefusedNamingTheField() {
        Map<String, String> refused = Map.of(
                "n", "{\"model\": \"m\", \"messages\": [{\"role\": \"user\", \"content\": \"x\"}], \"n\": 2}",
                "tools", "{\"model\": \"m\", \"messages\": [{\"role\": \"user\", \"content\": \"x\"}], \"tools\": []}",
                "response_format.type", "{\"model\": \"m\", \"messages\": [{\"role\": \"user\", \"content\": \"x\"}],"
                        + " \"response_format\": {\"type\": \"json_object\"}}",
                "messages", "{\"model\": \"m\", \"messages\": []}",
                "model", "{\"messages\": [{\"role\": \"user\", \"content\": \"x\"}]}",
                "messages[0].content[0].type", "{\"model\": \"m\", \"messages\": [{\"role\": \"user\", \"content\":"
                        + " [{\"type\": \"audio\"}]}]}",
                "temperature", "{\"model\": \"m\", \"messages\": [{\"role\": \"user\", \"content\": \"x\"}],"
                        + " \"temperature\": \"hot\"}");
        refused.forEach((field, json) -> {
            ProblemException problem = assertThrows(ProblemException.class,
                    () -> ChatCompletionResource.request(body(json)));
            assertEquals(field, problem.field().orElseThrow(), json);
        });
    }
}
