/** The serving-service's units of work: deployments and completions. */
package dev.loupe.serving.service;
