/** The dataset-service's persistent entities. */
package dev.loupe.dataset.model;
