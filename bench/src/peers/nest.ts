export const startNestConsumer = async () => ({ stop: async () => undefined });
