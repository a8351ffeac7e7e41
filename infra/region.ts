/** The AWS region the stage deploys to (from the provider configuration / AWS_REGION). */
export const region = aws.getRegionOutput().region;
